// The JSON writer every --json output and the export use.
#include "ledger/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace tally {
namespace {

TEST(JsonWriterTest, EscapesPerRfc8259) {
  EXPECT_EQ(json_string("a\"b\\c\n\t\x01\x7f/é"), "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f/é\"");
  JsonWriter w;
  w.begin_object().field("a", "x").key("n").number(-3).key("l").begin_array();
  w.boolean(true).null().unsigned_number(7).end_array().key("r").raw("{\"k\":1}").end_object();
  EXPECT_EQ(w.str(), R"({"a":"x","n":-3,"l":[true,null,7],"r":{"k":1}})");
  // What we write, simdjson reads back.
  simdjson::dom::parser p;
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(w.str()).get(e), simdjson::SUCCESS);
  std::string s = json_string(std::string("\0\x1f", 2));
  std::string_view back;
  ASSERT_EQ(p.parse(s).get(back), simdjson::SUCCESS);
  EXPECT_EQ(back, std::string_view("\0\x1f", 2));
}

}  // namespace
}  // namespace tally
