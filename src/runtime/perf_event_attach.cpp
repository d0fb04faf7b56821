#include "runtime/perf_event_attach.hpp"
