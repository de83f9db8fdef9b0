@0xc5a3d8e6f1b20a47;
# tally's wire schema. Amounts are exact integers in minor units (two 64-bit halves of a signed
# 128-bit value) plus a currency code: never floating point.

struct Amount128 {
  hi @0 :Int64;   # high 64 bits, two's complement
  lo @1 :UInt64;  # low 64 bits
}
