#include <gtest/gtest.h>

#include "compiler/annotations.hpp"

namespace ecli::compiler {
namespace {

using package::Json;

TEST(DocComment, FreeTextBecomesDescriptionKeepingEveryLine) {
  Json j = parse_doc_comment("/// First line\n/// second line\n///\n/// after a blank");
  EXPECT_EQ(j["description"], "First line\nsecond line\n\nafter a blank");
}

TEST(DocComment, JsonValuesAndBareKeys) {
  Json j = parse_doc_comment(
      "/// @sample {\"interval\": 1000, \"type\" : \"log2_hist\"}\n/// @clear\n/// @unit usecs\n/// @count 3");
  EXPECT_EQ(j["sample"]["interval"], 1000);
  EXPECT_EQ(j["sample"]["type"], "log2_hist");
  EXPECT_EQ(j["clear"], true);
  EXPECT_EQ(j["unit"], "usecs");
  EXPECT_EQ(j["count"], 3);
  EXPECT_FALSE(j.contains("description"));
}

TEST(DocComment, BlockCommentsAndMultiLineJson) {
  Json j = parse_doc_comment(
      "/**\n * Trace things\n * @cmdarg {\"default\": 5,\n *          \"short\": \"p\"}\n * @brief A tool\n */");
  EXPECT_EQ(j["description"], "Trace things");
  EXPECT_EQ(j["cmdarg"]["default"], 5);
  EXPECT_EQ(j["cmdarg"]["short"], "p");
  EXPECT_EQ(j["brief"], "A tool");
}

TEST(DocComment, InvalidJsonIsKeptAsText) {
  Json j = parse_doc_comment("/// @tchook {ifindex: 1}");
  EXPECT_EQ(j["tchook"], "{ifindex: 1}");
}

TEST(DocComment, TchookAsInTheSeed) {
  Json j = parse_doc_comment(
      "/// @tchook {\"ifindex\":1, \"attach_point\":\"BPF_TC_INGRESS\"}\n/// @tcopts {\"handle\":1, \"priority\":1}");
  EXPECT_EQ(j["tchook"]["attach_point"], "BPF_TC_INGRESS");
  EXPECT_EQ(j["tcopts"]["priority"], 1);
}

}  // namespace
}  // namespace ecli::compiler
