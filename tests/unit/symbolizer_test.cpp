#include "symbols/symbolizer.hpp"

#include <gtest/gtest.h>

using namespace ecli::symbols;

TEST(Symbolizer, ZeroAddressIsUnknown) {
  Symbolizer s;
  EXPECT_TRUE(s.user(0, 0).front().symbol.empty());
}
