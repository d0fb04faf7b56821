#include <gtest/gtest.h>

#include "output/flamegraph_layout.hpp"
#include "output/stacks.hpp"
