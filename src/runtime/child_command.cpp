#include "runtime/child_command.hpp"
