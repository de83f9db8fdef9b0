// Hashed tokens: the text form, matching plain and hashed stored tokens, malformed hashes.
#include <gtest/gtest.h>

#include <string>

#include "ops/token_hash.h"

namespace tally {
namespace {

TEST(TokenHash, TheTextFormIsSha256AndLowercaseHex) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(hash_token(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_token("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(is_hashed_token(hash_token("x")));
  EXPECT_FALSE(is_hashed_token("k3y-for-audit"));
  EXPECT_FALSE(is_hashed_token("SHA256:abc"));
}

TEST(TokenHash, HashedAndPlainStoredTokensMatchOnlyTheirToken) {
  const std::string token = "k3y-for-audit-6f1d0c2a9b7e4f5d";
  EXPECT_TRUE(token_matches(hash_token(token), token));
  EXPECT_TRUE(token_matches(token, token));  // plain, as before
  for (std::string other :
       {std::string(""), token + "x", token.substr(1), std::string("K3y"), hash_token(token)}) {
    EXPECT_FALSE(token_matches(hash_token(token), other)) << other;
    EXPECT_FALSE(token_matches(token, other)) << other;
  }
  // Presenting the stored hash does not log in: the hash is not the secret.
  EXPECT_FALSE(token_matches(hash_token(token), hash_token(token)));
}

TEST(TokenHash, StoredDigestIsTheHashOfAPlainTokenOrTheDecodedHex) {
  auto plain = stored_token_digest("abc", "tokens");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, sha256("abc"));
  auto hashed = stored_token_digest(hash_token("abc"), "tokens");
  ASSERT_TRUE(hashed.ok());
  EXPECT_EQ(*hashed, sha256("abc"));
  EXPECT_TRUE(digest_equal_ct(*plain, *hashed));
  Digest other = *plain;
  other[31] ^= 1;
  EXPECT_FALSE(digest_equal_ct(*plain, other));
  other = *plain;
  other[0] ^= 0x80;
  EXPECT_FALSE(digest_equal_ct(*plain, other));
}

TEST(TokenHash, AMalformedHashIsRefusedNamingTheFieldAndMatchesNothing) {
  std::string good = hash_token("abc");
  struct Case {
    std::string stored;
    std::string says;
  };
  std::vector<Case> cases = {
      {"sha256:", "has 0 characters"},
      {good.substr(0, good.size() - 1), "has 63 characters"},
      {good + "0", "has 65 characters"},
      {"sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "character 8 "},
      {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aZ", "character 71 "},
      {"sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "character 8 "},
  };
  for (const auto& c : cases) {
    auto d = stored_token_digest(c.stored, "tokens[3]");
    ASSERT_FALSE(d.ok()) << c.stored;
    EXPECT_EQ(d.error().code, Code::bad_request);
    EXPECT_EQ(d.error().message.rfind("tokens[3]: ", 0), 0u) << d.error().message;
    EXPECT_NE(d.error().message.find(c.says), std::string::npos) << d.error().message;
    EXPECT_FALSE(token_matches(c.stored, "abc")) << c.stored;
    EXPECT_FALSE(token_matches(c.stored, c.stored)) << c.stored;
  }
}

}  // namespace
}  // namespace tally
