#include "kernel/fixture.hpp"
