#pragma once
// numpy.random.default_rng(seed), bit for bit: SeedSequence -> PCG64 (XSL-RR),
// with Generator.uniform and Generator.integers drawn the way numpy 1.24 does.
// The anchor benches (_common.py, next to this file) generate their data and initial
// weights this way, so a graphnn run on the same workload trains the same
// network on the same batches and its losses can be compared number for number.
#include <cstddef>
#include <cstdint>

namespace bench {

class NumpyRng {
 public:
  explicit NumpyRng(std::uint32_t seed) {
    // SeedSequence(seed).generate_state(4, uint64): hash the entropy into a
    // pool of 4 words, then draw 8 words out of it.
    constexpr std::uint32_t init_a = 0x43b0d7e5, mult_a = 0x931e8875, init_b = 0x8b51f9dd, mult_b = 0x58f38ded;
    std::uint32_t hash_const = init_a;
    auto hashmix = [&hash_const](std::uint32_t v) {
      v ^= hash_const;
      hash_const *= mult_a;
      v *= hash_const;
      return v ^ (v >> 16);
    };
    auto mix = [](std::uint32_t x, std::uint32_t y) {
      std::uint32_t r = 0xca01f9dd * x - 0x4973f715 * y;
      return r ^ (r >> 16);
    };
    std::uint32_t pool[4];
    for (int i = 0; i < 4; ++i) pool[i] = hashmix(i == 0 ? seed : 0);
    for (int src = 0; src < 4; ++src)
      for (int dst = 0; dst < 4; ++dst)
        if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    std::uint32_t words[8];
    hash_const = init_b;
    for (int i = 0; i < 8; ++i) {
      std::uint32_t v = pool[i % 4] ^ hash_const;
      hash_const *= mult_b;
      v *= hash_const;
      words[i] = v ^ (v >> 16);
    }
    auto u64 = [&words](int i) { return std::uint64_t(words[2 * i]) | std::uint64_t(words[2 * i + 1]) << 32; };
    // pcg64_set_seed: state and increment are (high, low) pairs of those words.
    const u128 initstate = u128(u64(0)) << 64 | u64(1);
    const u128 initseq = u128(u64(2)) << 64 | u64(3);
    state_ = 0;
    inc_ = initseq << 1 | 1;
    step();
    state_ += initstate;
    step();
  }

  std::uint64_t next_u64() {
    step();
    const std::uint64_t x = std::uint64_t(state_ >> 64) ^ std::uint64_t(state_);
    const unsigned rot = unsigned(state_ >> 122);
    return (x >> rot) | (x << ((64 - rot) & 63));
  }

  // numpy keeps the upper half of a 64-bit draw for the next 32-bit request.
  std::uint32_t next_u32() {
    if (has_u32_) {
      has_u32_ = false;
      return u32_;
    }
    const std::uint64_t v = next_u64();
    has_u32_ = true;
    u32_ = std::uint32_t(v >> 32);
    return std::uint32_t(v);
  }

  double next_double() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

  // Generator.uniform(low, high)
  double uniform(double low, double high) { return low + (high - low) * next_double(); }

  // Generator.integers(0, n) for n <= 2^32: Lemire's bounded draw on 32 bits.
  std::int64_t integer(std::uint64_t n) {
    const std::uint32_t range_excl = std::uint32_t(n);
    std::uint64_t m = std::uint64_t(next_u32()) * range_excl;
    std::uint32_t leftover = std::uint32_t(m);
    if (leftover < range_excl) {
      const std::uint32_t threshold = (UINT32_MAX - (range_excl - 1)) % range_excl;
      while (leftover < threshold) {
        m = std::uint64_t(next_u32()) * range_excl;
        leftover = std::uint32_t(m);
      }
    }
    return std::int64_t(m >> 32);
  }

 private:
  __extension__ typedef unsigned __int128 u128;  // __extension__: no -Wpedantic warning
  void step() {
    constexpr u128 mult = u128(2549297995355413924ULL) << 64 | 4865540595714422341ULL;
    state_ = state_ * mult + inc_;
  }

  u128 state_ = 0, inc_ = 0;
  bool has_u32_ = false;
  std::uint32_t u32_ = 0;
};

}  // namespace bench
