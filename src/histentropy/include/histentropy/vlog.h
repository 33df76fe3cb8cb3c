/* histentropy/vlog.h -- branch-free, vectorisable natural logarithm (and
 * log1p) in C99.
 *
 * he_log(x)   = log(x)   error bound ~0.505 ulp by design (tested < 0.52)
 * he_log1p(x) = log1p(x) tested < 0.52 ulp
 * he_log_notable(x) = log(x) without a table, bound ~0.70 ulp (see
 *             "Table-free variant"): for targets where the table look-ups
 *             are not real gathers
 * over every double, subnormals included; special values as C99 Annex F:
 *   log(+-0) = -inf, log(+inf) = +inf, log(x < 0) = NaN, log(NaN) = NaN, log(1) = +0;
 *   log1p(+-0) = +-0, log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf.
 *
 * Why it exists
 * -------------
 * A loop calling libm's scalar log() cannot be vectorised without -ffast-math
 * (which breaks inf/NaN semantics).  These functions contain no branch that
 * depends on the data, no libm call and no division, so GCC 12 at -O3
 * turns `for (i...) y[i] = he_log(x[i])` into SSE4.2/AVX2/AVX-512 code
 * (the table look-ups become gathers, emulated by GCC's generic tuning); the
 * plain x86-64 (SSE2) build stays scalar.  FMA and non-FMA builds, with or
 * without contraction of a*b+c, all meet the bound; their results differ in
 * the last bit for about 1 input in 10^4.
 *
 * Algorithm (table-driven reduction; the idea is the classic one of Tang
 * (1990) and of the ARM optimized-routines log, the code and the tables are
 * our own)
 * ---------------------------------------------------------------------
 *   x = 2^k z,  z in [OFF, 2 OFF), OFF = 0x1.6a8p-1 ~ 0.708 (bit pattern
 *   0x3fe6a80000000000), the split taken on the bit pattern:  tmp = ix - OFF,
 *   k = top 12 bits of tmp, i = next 8 bits.  OFF is chosen so that z = 1 is
 *   the centre of its sub-interval i0, whose table entry is exactly
 *   invc = 1, logc = 0: near x = 1 the reduction is then exact (r = x - 1)
 *   and there is no cancellation to lose digits to.
 *   log x = k ln2 + logc_i + log1p(r),   r = z invc_i - 1,  |r| <= 2^-8.99,
 *   where logc_i = -log(invc_i) exactly (mathematically) and is stored rounded.
 *   The table is chosen so that the reduction needs no FMA to be exact:
 *   - invc_i has at most 26 significant bits; z = zh + zl with zh the top 27
 *     bits of z, so zh*invc and zl*invc are both exact, zh*invc - 1 is exact
 *     (Sterbenz), and r is carried as the exact pair rh + rl;
 *   - among the 2049 26-bit candidates for invc nearest to 2/(a + b)
 *     (a, b the ends of sub-interval i), the one is kept whose -log(invc)
 *     is closest to a double: logc_i is within 0.0019 ulp of -log(invc_i),
 *     i.e. a double-double in one double (no second table, one gather less);
 *   - ln2 = LN2HI + LN2LO, LN2HI with 42 bits so k*LN2HI is exact.
 *   Where FMA exists (use_fma) the pair is pz - 1 and fma(z, invc, -pz),
 *   pz = z invc, and the polynomial gets their rounded sum.
 *   The sum  k LN2HI + logc + rh  is formed with two Fast2Sum steps (valid
 *   because |k LN2HI| >= |logc| >= |rh| or the larger term is 0), the low parts
 *   are added to  rl + k LN2LO + r^2 P(r),  with P a degree-4 near-minimax
 *   polynomial for (log1p(r) - r)/r^2 on |r| <= 0.00197 (abs error 2^-51.7,
 *   0.0024 ulp of the result at worst), and the result is rounded once.
 *   Subnormal x are scaled by 2^52 (exactly) with k lowered by 52, selected
 *   without a branch.  Special inputs run the same arithmetic on their bit
 *   patterns (always a valid table index, never an FP trap) and a final select
 *   replaces the result.
 *   log1p(x): u = 1 + x with its exact rounding error e (2Sum); then
 *   log1p(x) = log(u + e) = k ln2 + logc + log1p(r + e invc 2^-k), i.e. e only
 *   adds a third exact-enough piece to r.  No division, same table.
 *
 * Table-free variant: he__log_notable(x, use_fma)
 * ----------------------------------------------
 * Same contract (branch-free, no libm call, vectorisable, same specials,
 * every positive double, subnormals included), no table, one division.
 * GCC 12 emits the table look-ups above as one scalar load per element (no
 * gather instruction); on AVX-512 that load traffic, not the arithmetic,
 * bounds he__log.  The classic fdlibm/musl reduction (the formulas are
 * textbook, the code and the polynomial are our own):
 *   x = 2^k z,  z in [sqrt(2)/2, sqrt(2)) (split on the bits, OFF =
 *   sqrt(2)/2), f = z - 1 (exact), h = f/2, s = f/(2 + f), |s| <= 0.1716:
 *   log z = log1p(f) = 2 atanh(s) = f - h f + s (h f + R),
 *   R = 2 atanh(s) - 2s = w Q(w), w = s^2, Q a degree-7 minimax polynomial.
 * Accuracy: f - h f is formed exactly as t + t_err (FMA: t = fma(-h, f, f),
 * t_err = fma(-h, f, f - t); else a Dekker product and Fast2Sum), k ln2 + t
 * as hi + hi_err (Fast2Sum, 42-bit LN2HI as above); the only inexact large
 * term is s X, X = h f + R, which is at most 5.3 % of |log x| (x near
 * sqrt(2) 2^k, k = 0 or -1) with about 3 roundings (s twice, X once); the
 * small terms go into lo (s X last, by an FMA where there is one) and
 * hi + lo is rounded once.  Bound about 0.5 + 0.12 + 0.08 ~ 0.70 ulp
 * (tests/test_simd_log.py checks it against libquadmath's logq).
 * Subnormals: x 2^1074 is formed exactly by an add (bits of x OR the
 * exponent of 2^52, minus 2^52), k lowered by 1074.
 *
 * Use: call he_log / he_log1p / he_xlogx in a plain loop (he__log(x, 1) /
 * he__log1p(x, 1) where the target has FMA), selects on computed values
 * through he_select, and compile the loop once per CPU path with
 * instantiate.h.  vlog_simd.h holds the array kernels of the testbed.
 */
#ifndef HISTENTROPY_VLOG_H
#define HISTENTROPY_VLOG_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>   /* INFINITY, NAN only: nothing here calls libm */

#include "config.h"

#define HE__LOG_BITS 8
#define HE__LOG_N (1 << HE__LOG_BITS)
#define HE__LOG_OFF UINT64_C(0x3fe6a80000000000)

/* Bit casts through memcpy: well defined in C99, free after optimisation,
 * and vectorised by GCC like any other move. */
HE_ALWAYS_INLINE uint64_t he__asuint64(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
HE_ALWAYS_INLINE double he__asdouble(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* invc_i (<= 26 significant bits) and logc_i = -log(invc_i) rounded (within
 * 0.0019 ulp); entry 149 (z around 1) is exactly {1, 0}.  Generated by the
 * script at the end of this file; tests/test_simd_log.py re-checks every entry
 * against mpmath. */
static const double he__log_invc[HE__LOG_N] HE_ALIGN64 = {
    0x1.69153c8000000p+0, 0x1.6814cd8000000p+0, 0x1.6718998000000p+0, 0x1.661d530000000p+0,
    0x1.6526040000000p+0, 0x1.642e378000000p+0, 0x1.6336490000000p+0, 0x1.6240608000000p+0,
    0x1.6149ff0000000p+0, 0x1.6056240000000p+0, 0x1.5f651b0000000p+0, 0x1.5e73ea8000000p+0,
    0x1.5d86798000000p+0, 0x1.5c98c90000000p+0, 0x1.5baa728000000p+0, 0x1.5ac0d80000000p+0,
    0x1.59d4828000000p+0, 0x1.58ef170000000p+0, 0x1.5806f80000000p+0, 0x1.571e030000000p+0,
    0x1.56381e8000000p+0, 0x1.55545f8000000p+0, 0x1.5471cc0000000p+0, 0x1.53900c8000000p+0,
    0x1.52ae288000000p+0, 0x1.51cf8a8000000p+0, 0x1.50f1000000000p+0, 0x1.50131d0000000p+0,
    0x1.4f39700000000p+0, 0x1.4e5ecd0000000p+0, 0x1.4d84548000000p+0, 0x1.4cad3c0000000p+0,
    0x1.4bd4b48000000p+0, 0x1.4afef68000000p+0, 0x1.4a28140000000p+0, 0x1.4953270000000p+0,
    0x1.487ede0000000p+0, 0x1.47af120000000p+0, 0x1.46db640000000p+0, 0x1.460b818000000p+0,
    0x1.453f220000000p+0, 0x1.446e8b8000000p+0, 0x1.43a41f0000000p+0, 0x1.42d6a98000000p+0,
    0x1.420b6b0000000p+0, 0x1.4140f18000000p+0, 0x1.4077a30000000p+0, 0x1.3fae6f8000000p+0,
    0x1.3ee9df8000000p+0, 0x1.3e233f8000000p+0, 0x1.3d5d9d0000000p+0, 0x1.3c975e8000000p+0,
    0x1.3bd6b40000000p+0, 0x1.3b121e0000000p+0, 0x1.3a50cb0000000p+0, 0x1.3990790000000p+0,
    0x1.38d2cf8000000p+0, 0x1.38135c0000000p+0, 0x1.3755a68000000p+0, 0x1.3697278000000p+0,
    0x1.35dc9c0000000p+0, 0x1.3520760000000p+0, 0x1.3469708000000p+0, 0x1.33af418000000p+0,
    0x1.32f3f20000000p+0, 0x1.323d128000000p+0, 0x1.3186548000000p+0, 0x1.30d0410000000p+0,
    0x1.301afa8000000p+0, 0x1.2f69750000000p+0, 0x1.2eb3db0000000p+0, 0x1.2e036c0000000p+0,
    0x1.2d4f010000000p+0, 0x1.2ca02d8000000p+0, 0x1.2bf04d8000000p+0, 0x1.2b3f148000000p+0,
    0x1.2a93908000000p+0, 0x1.29e55d0000000p+0, 0x1.2937338000000p+0, 0x1.288b098000000p+0,
    0x1.27de1a0000000p+0, 0x1.2736a20000000p+0, 0x1.268a690000000p+0, 0x1.25e2258000000p+0,
    0x1.253b6b8000000p+0, 0x1.2493fb0000000p+0, 0x1.23ed328000000p+0, 0x1.2346140000000p+0,
    0x1.229fc10000000p+0, 0x1.21fd508000000p+0, 0x1.2157e58000000p+0, 0x1.20b2950000000p+0,
    0x1.2012700000000p+0, 0x1.1f71588000000p+0, 0x1.1ed01d8000000p+0, 0x1.1e30bd0000000p+0,
    0x1.1d8df50000000p+0, 0x1.1cf23f0000000p+0, 0x1.1c51490000000p+0, 0x1.1bb5220000000p+0,
    0x1.1b19b08000000p+0, 0x1.1a7c738000000p+0, 0x1.19e1590000000p+0, 0x1.1947068000000p+0,
    0x1.18aa880000000p+0, 0x1.180fe40000000p+0, 0x1.1779c68000000p+0, 0x1.16dea00000000p+0,
    0x1.1647430000000p+0, 0x1.15b10f0000000p+0, 0x1.1519bf0000000p+0, 0x1.14873b0000000p+0,
    0x1.13f0aa0000000p+0, 0x1.135d698000000p+0, 0x1.12c9b40000000p+0, 0x1.1236178000000p+0,
    0x1.11a1568000000p+0, 0x1.1110fd0000000p+0, 0x1.107fbe8000000p+0, 0x1.0fedbb0000000p+0,
    0x1.0f5dfb8000000p+0, 0x1.0ed0fd8000000p+0, 0x1.0e403b8000000p+0, 0x1.0db0db8000000p+0,
    0x1.0d23dd0000000p+0, 0x1.0c98b70000000p+0, 0x1.0c0a5f0000000p+0, 0x1.0b7ef28000000p+0,
    0x1.0af1d00000000p+0, 0x1.0a66f90000000p+0, 0x1.09de960000000p+0, 0x1.09535b0000000p+0,
    0x1.08ca438000000p+0, 0x1.0843a60000000p+0, 0x1.07bbcd0000000p+0, 0x1.0734448000000p+0,
    0x1.06a9f40000000p+0, 0x1.0626508000000p+0, 0x1.059e7e0000000p+0, 0x1.051aa80000000p+0,
    0x1.0494b58000000p+0, 0x1.040fe98000000p+0, 0x1.038bcf8000000p+0, 0x1.0308958000000p+0,
    0x1.0286720000000p+0, 0x1.0205d40000000p+0, 0x1.0183010000000p+0, 0x1.0101a20000000p+0,
    0x1.0080ff8000000p+0, 0x1.0000000000000p+0, 0x1.fe03eb8000000p-1, 0x1.fc08018000000p-1,
    0x1.fa10c38000000p-1, 0x1.f81e790000000p-1, 0x1.f6315c8000000p-1, 0x1.f447630000000p-1,
    0x1.f25dc58000000p-1, 0x1.f07c6f0000000p-1, 0x1.ee9d240000000p-1, 0x1.ecc1a20000000p-1,
    0x1.eae6b20000000p-1, 0x1.e9148f8000000p-1, 0x1.e7433c8000000p-1, 0x1.e574eb0000000p-1,
    0x1.e3aa8f8000000p-1, 0x1.e1e28b8000000p-1, 0x1.e01e898000000p-1, 0x1.de5bd70000000p-1,
    0x1.dca0490000000p-1, 0x1.dae7d38000000p-1, 0x1.d92dba0000000p-1, 0x1.d77d530000000p-1,
    0x1.d5c95a8000000p-1, 0x1.d41bd78000000p-1, 0x1.d272c08000000p-1, 0x1.d0ca870000000p-1,
    0x1.cf277f0000000p-1, 0x1.cd83ab0000000p-1, 0x1.cbe8380000000p-1, 0x1.ca4b338000000p-1,
    0x1.c8b07a0000000p-1, 0x1.c71bc00000000p-1, 0x1.c589e78000000p-1, 0x1.c3f75f0000000p-1,
    0x1.c26cb98000000p-1, 0x1.c0df6e8000000p-1, 0x1.bf56be8000000p-1, 0x1.bdd0cc8000000p-1,
    0x1.bc51c70000000p-1, 0x1.bacda38000000p-1, 0x1.b951ce0000000p-1, 0x1.b7d6ac8000000p-1,
    0x1.b65f788000000p-1, 0x1.b4e9e30000000p-1, 0x1.b373148000000p-1, 0x1.b205128000000p-1,
    0x1.b0945d0000000p-1, 0x1.af2a018000000p-1, 0x1.adbdd98000000p-1, 0x1.ac570f8000000p-1,
    0x1.aaefda8000000p-1, 0x1.a98eee0000000p-1, 0x1.a830420000000p-1, 0x1.a6d0f08000000p-1,
    0x1.a575808000000p-1, 0x1.a4197c8000000p-1, 0x1.a2c3730000000p-1, 0x1.a16cac0000000p-1,
    0x1.a01a2e0000000p-1, 0x1.9ec8c28000000p-1, 0x1.9d78e18000000p-1, 0x1.9c2b510000000p-1,
    0x1.9ae3b70000000p-1, 0x1.999b510000000p-1, 0x1.9852f18000000p-1, 0x1.970de58000000p-1,
    0x1.95c9e20000000p-1, 0x1.948c678000000p-1, 0x1.934a758000000p-1, 0x1.9210c18000000p-1,
    0x1.90d34e8000000p-1, 0x1.8f9b1f8000000p-1, 0x1.8e66ad0000000p-1, 0x1.8d30cb0000000p-1,
    0x1.8bfde00000000p-1, 0x1.8acd5e8000000p-1, 0x1.899d2c0000000p-1, 0x1.886d280000000p-1,
    0x1.87432a0000000p-1, 0x1.8616688000000p-1, 0x1.84efad8000000p-1, 0x1.83cb638000000p-1,
    0x1.82a4f90000000p-1, 0x1.81823c0000000p-1, 0x1.8061cd0000000p-1, 0x1.7f3e8d0000000p-1,
    0x1.7e231f8000000p-1, 0x1.7d07c48000000p-1, 0x1.7bec780000000p-1, 0x1.7ad2548000000p-1,
    0x1.79bb628000000p-1, 0x1.78a5e58000000p-1, 0x1.77923e8000000p-1, 0x1.767bcf8000000p-1,
    0x1.756c8a8000000p-1, 0x1.745ed10000000p-1, 0x1.7350c78000000p-1, 0x1.7243030000000p-1,
    0x1.7137b70000000p-1, 0x1.702d198000000p-1, 0x1.6f270d0000000p-1, 0x1.6e1e878000000p-1,
    0x1.6d1a720000000p-1, 0x1.6c184b8000000p-1, 0x1.6b13618000000p-1, 0x1.6a12818000000p-1,
};
static const double he__log_logc[HE__LOG_N] HE_ALIGN64 = {
    -0x1.602f42416ab72p-2, -0x1.5d570656a7a1bp-2, -0x1.5a88d37112fe1p-2,
    -0x1.57bb4e8e65b74p-2, -0x1.54f7312e9e811p-2, -0x1.522fc00092486p-2,
    -0x1.4f65fd2ce279cp-2, -0x1.4ca020d2e7092p-2, -0x1.49d6f8543e31dp-2,
    -0x1.471334c31d582p-2, -0x1.4455beb1ce068p-2, -0x1.4195f367d8fa4p-2,
    -0x1.3edf3e31167bdp-2, -0x1.3c25f5e31e493p-2, -0x1.3968e894c12d8p-2,
    -0x1.36b7f54b99dcfp-2, -0x1.33fd1b8f140e3p-2, -0x1.3154ea610217fp-2,
    -0x1.2ea2e9fb42513p-2, -0x1.2bec98c10ba98p-2, -0x1.293d9af271c39p-2,
    -0x1.26933f9244246p-2, -0x1.23eaa1298cefcp-2, -0x1.2142bc8299597p-2,
    -0x1.1e98a4e7d55ffp-2, -0x1.1bf6b2089b370p-2, -0x1.19533db820b23p-2,
    -0x1.16b00912a875dp-2, -0x1.1417f31323daap-2, -0x1.117b3bf1d0f1fp-2,
    -0x1.0edd517c7540ap-2, -0x1.0c481322a888dp-2, -0x1.09acbc30b4f0ap-2,
    -0x1.0718509df6e12p-2, -0x1.047eaed5e5426p-2, -0x1.01e972a6294c8p-2,
    -0x1.fea913417e720p-3, -0x1.f997f748d645dp-3, -0x1.f46b4fbf5f2eep-3,
    -0x1.ef5323b6143acp-3, -0x1.ea4dd4029ab0fp-3, -0x1.e52ac0940ce57p-3,
    -0x1.e02b6087371e5p-3, -0x1.db159e5116dc8p-3, -0x1.d60ab46cfd577p-3,
    -0x1.d10182b616caep-3, -0x1.cbfc9a48f5b48p-3, -0x1.c6f536b41572bp-3,
    -0x1.c20871f951febp-3, -0x1.bd0b5c4b361e4p-3, -0x1.b8118c2f8215ap-3,
    -0x1.b310b0b772bf2p-3, -0x1.ae30de2556675p-3, -0x1.a93496c220701p-3,
    -0x1.a44a72d4ad3b9p-3, -0x1.9f63d6b41cf0ap-3, -0x1.9a8b9f57a70a6p-3,
    -0x1.95a4b98f61875p-3, -0x1.90c646e1c666dp-3, -0x1.8bdfab1f8b4c7p-3,
    -0x1.87102a84d43c0p-3, -0x1.8233241019a49p-3, -0x1.7d7532d3ae90fp-3,
    -0x1.789f644d9702fp-3, -0x1.73bf23035602bp-3, -0x1.6ef9946bbf8c4p-3,
    -0x1.6a320c1228a60p-3, -0x1.656c209bebd16p-3, -0x1.60a8befa625abp-3,
    -0x1.5bfbdc716dae1p-3, -0x1.5730a238e3527p-3, -0x1.528592a6dcdb5p-3,
    -0x1.4dbcb35c24ec5p-3, -0x1.49170e2a96633p-3, -0x1.44678b0927f89p-3,
    -0x1.3fac0ea1456f9p-3, -0x1.3b14e99a31cb5p-3, -0x1.3668aa5c6d768p-3,
    -0x1.31b9f3b1a2c5dp-3, -0x1.2d164a6467443p-3, -0x1.286a97b207186p-3,
    -0x1.23e2167d06d22p-3, -0x1.1f35f4712d08fp-3, -0x1.1aa2ad363f6b8p-3,
    -0x1.161782ef1ea0cp-3, -0x1.1184c519b283ep-3, -0x1.0cf4031daaa3fp-3,
    -0x1.085e47f87ca14p-3, -0x1.03cb84b0cee32p-3, -0x1.fea3249881aa5p-4,
    -0x1.f58010b46d80ep-4, -0x1.ec593a0ae70bap-4, -0x1.e376a761d524cp-4,
    -0x1.da81a35111e11p-4, -0x1.d1859dc97d142p-4, -0x1.c89f1117578d6p-4,
    -0x1.bf82b995bb0e2p-4, -0x1.b6c6d2653d7c0p-4, -0x1.adba8288699e0p-4,
    -0x1.a4ee7ee987eb6p-4, -0x1.9c27e478daa7cp-4, -0x1.93427090aa318p-4,
    -0x1.8a770ce653218p-4, -0x1.81b231866dc46p-4, -0x1.78c8d3222cbc7p-4,
    -0x1.6ff5971d4474ap-4, -0x1.675fcdce9ba9bp-4, -0x1.5e7b72c407773p-4,
    -0x1.55c9e2682d25dp-4, -0x1.4d24b30d3ca79p-4, -0x1.446a6f5e3600fp-4,
    -0x1.3bf27461b80d5p-4, -0x1.3339daf119cb6p-4, -0x1.2aadcb8ebe61fp-4,
    -0x1.221658e0d3526p-4, -0x1.197bbc1a65d31p-4, -0x1.10cb61f5310c1p-4,
    -0x1.08585e59d8912p-4, -0x1.ffa6e002b8cecp-5, -0x1.ee7cbd496a8b7p-5,
    -0x1.dd8dc5e32f373p-5, -0x1.cce93116dd7d3p-5, -0x1.bbc9cb5e2d0fap-5,
    -0x1.aacb384b7db8ap-5, -0x1.9a0c1204d5bbdp-5, -0x1.897c6ea33a1c9p-5,
    -0x1.78828d1332ad0p-5, -0x1.67d911b96a33dp-5, -0x1.56f263acae358p-5,
    -0x1.464955f13cd2dp-5, -0x1.35e32d7f290a1p-5, -0x1.251ccc9387482p-5,
    -0x1.148fc684c0676p-5, -0x1.0446f278c8904p-5, -0x1.e79f11b9b285fp-6,
    -0x1.c6b2d67524fc5p-6, -0x1.a50827d0fd809p-6, -0x1.84ecf98c58dc0p-6,
    -0x1.63bbaa411bfcap-6, -0x1.437340303c3ecp-6, -0x1.2295c5ce5903fp-6,
    -0x1.01efdc0595d1fp-6, -0x1.c2ca4d1559743p-7, -0x1.820269e7757fbp-7,
    -0x1.41a39115641b4p-7, -0x1.01e5828d30713p-7, -0x1.81dd9f8021d21p-8,
    -0x1.0120b3634df71p-8, -0x1.01be154ed7714p-9, 0x0.0p+0,
    0x1.fd113f9ac05afp-9, 0x1.fdf9e5312ccdbp-8, 0x1.7e0703695de10p-7,
    0x1.fc4dd2216e822p-7, 0x1.3cdfda6543373p-6, 0x1.7b6fc64657843p-6,
    0x1.ba3145c122ecdp-6, 0x1.f81f61e857b8bp-6, 0x1.1b02f45402912p-5,
    0x1.39d55665a6076p-5, 0x1.58bc00a44e7aap-5, 0x1.772d2bcc791e2p-5,
    0x1.95adc7cf74560p-5, 0x1.b418d978798a0p-5, 0x1.d25dda2f5a9bep-5,
    0x1.f097c88311a52p-5, 0x1.0754fe4e31b32p-4, 0x1.16610e0004050p-4,
    0x1.253def98b216bp-4, 0x1.340df9393f46bp-4, 0x1.42f9f9df07275p-4,
    0x1.519fb2e9271aap-4, 0x1.6071fd8c4ce2bp-4, 0x1.6f198b1321adap-4,
    0x1.7da7bc73b211dp-4, 0x1.8c3b97b4bb9fdp-4, 0x1.9aaed93ae367ap-4,
    0x1.a936460c222ddp-4, 0x1.b7804fffb5383p-4, 0x1.c5e52cadbc8d3p-4,
    0x1.d44277401111fp-4, 0x1.e276b6e3e7aebp-4, 0x1.f09d994603a05p-4,
    0x1.fed746340baeep-4, 0x1.066af5bd2c35bp-3, 0x1.0d7c7fa65a732p-3,
    0x1.147f3827684f4p-3, 0x1.1b7b81ebd619fp-3, 0x1.225e0051a5231p-3,
    0x1.295e1b56f8b96p-3, 0x1.303dd1964a3d9p-3, 0x1.37202ecdebdb1p-3,
    0x1.3df6241b119d0p-3, 0x1.44ca5ec111c39p-3, 0x1.4baa32d281675p-3,
    0x1.52666ef20a9e5p-3, 0x1.5935254daa9d4p-3, 0x1.5feb7fee03ec3p-3,
    0x1.66b013a1d39edp-3, 0x1.6d60bc559e32fp-3, 0x1.7419033b99244p-3,
    0x1.7ab8b6c10deddp-3, 0x1.81530b7143f80p-3, 0x1.87f5f96713112p-3,
    0x1.8e8b917d93b35p-3, 0x1.95296ae026eb2p-3, 0x1.9baf847ccf346p-3,
    0x1.a23e961eab5aap-3, 0x1.a8bdf5608e96ep-3, 0x1.af3d549014f6fp-3,
    0x1.b5ba5cfcb65f7p-3, 0x1.bc312ccfa7df9p-3, 0x1.c28f8137d52adp-3,
    0x1.c8f6e77e440a6p-3, 0x1.cf63519a9c5e7p-3, 0x1.d5c42c09412a9p-3,
    0x1.dc24e977f25e7p-3, 0x1.e269aaed924efp-3, 0x1.e8ca0882c204fp-3,
    0x1.ef05831b8f8f5p-3, 0x1.f559005314a51p-3, 0x1.fb96856772fd7p-3,
    0x1.00e2dbb2bdeeap-2, 0x1.04008defb40c5p-2, 0x1.071904bd9e58bp-2,
    0x1.0a2da10df4c9fp-2, 0x1.0d43d102b72cfp-2, 0x1.105beb3c2653ep-2,
    0x1.1366a83da00a0p-2, 0x1.167af86e1484bp-2, 0x1.1981cc12608a0p-2,
    0x1.1c84795bd1366p-2, 0x1.1f8f0e6ea5416p-2, 0x1.2292305d6f68cp-2,
    0x1.259174ee8d1a5p-2, 0x1.289a8084e0079p-2, 0x1.2b90e543197a3p-2,
    0x1.2e894b990a6dep-2, 0x1.3183c126acc0ap-2, 0x1.347d4d3f9175dp-2,
    0x1.377069257c0a2p-2, 0x1.3a61bd63ba5cfp-2, 0x1.3d503bf5ef8bcp-2,
    0x1.40487d0a22eb1p-2, 0x1.432f4ed552a80p-2, 0x1.4613fd64966e2p-2,
    0x1.48fba1d7d9f76p-2, 0x1.4be4a50bb0154p-2, 0x1.4ec8ed9c08dbbp-2,
    0x1.51ad6987b2542p-2, 0x1.548741f9ed124p-2, 0x1.576a0e7b30343p-2,
    0x1.5a427f534ded3p-2, 0x1.5d17879fd86c3p-2, 0x1.5ff65e10de345p-2,
    0x1.62cbd8ef49de1p-2,
};

static const double he__log_ln2hi = 0x1.62e42fefa3800p-1;   /* 42 bits */
static const double he__log_ln2lo = 0x1.ef35793c76730p-45;
/* (log1p(r) - r) / r^2 ~ P0 + P1 r + ... + P4 r^4 on |r| <= 0.00197 */
static const double he__log_p0 = -0x1.0000000000000p-1;
static const double he__log_p1 = 0x1.5555555552605p-2;
static const double he__log_p2 = -0x1.fffffffffad33p-3;
static const double he__log_p3 = 0x1.9999f69d9589bp-3;
static const double he__log_p4 = -0x1.5555a6b8d23d2p-3;

/* c ? a : b for an int c in {0, 1}, computed on the bits.  Use it instead of
 * `?:` wherever a or b is a computed FP value: GCC otherwise sinks that
 * computation into the arm that uses it, and a conditional FP operation
 * "could trap" (no -ffast-math), which blocks if-conversion and so
 * vectorisation on every target but AVX-512 ("control flow in loop" in
 * -fopt-info-vec-missed).  A select between an input and constants is fine
 * with `?:`. */
HE_ALWAYS_INLINE double he_select(int c, double a, double b)
{
    const uint64_t m = (uint64_t)0 - (uint64_t)c;
    return he__asdouble((he__asuint64(a) & m) | (he__asuint64(b) & ~m));
}

#if defined(__GNUC__)
#  define HE__FMA(a, b, c) __builtin_fma(a, b, c)
#else
#  define HE__FMA(a, b, c) fma(a, b, c)
#endif

/* log(u + e) for the (not special) input u, e an extra term with |e| <= ulp(u)/2.
 * with_e and use_fma are compile-time constants after inlining: with_e = 0
 * drops e at no cost; use_fma = 1 (only where the target has FMA, else fma()
 * is a libm call) forms r with one FMA instead of the 27-bit split + 2Sum.
 * The result is garbage for u <= 0, u = inf or NaN: callers select the
 * special value afterwards. */
HE_ALWAYS_INLINE double he__log_core(double u, double e, const int with_e, const int use_fma)
{
    /* Subnormals: scale by 2^52 (exact) and lower k by 52, without a branch.
     * The factor is built from bits so that GCC cannot rewrite the product
     * as `sub ? u * 2^52 : u`: a conditional FP multiply "could trap" and
     * stops if-conversion (hence vectorisation) before AVX-512. */
    const uint64_t sub = (uint64_t)0 - (uint64_t)(u < 0x1p-1022);  /* all ones or 0 */
    const double us = u * he__asdouble(UINT64_C(0x3ff0000000000000) + (sub & (UINT64_C(52) << 52)));

    const uint64_t iu = he__asuint64(us);
    const uint64_t tmp = iu - HE__LOG_OFF;
    const uint64_t i = (tmp >> (52 - HE__LOG_BITS)) & (HE__LOG_N - 1);
    const uint64_t top = tmp & UINT64_C(0xfff0000000000000);   /* k << 52 */
    const uint64_t iz = iu - top;                  /* z in [OFF, 2 OFF) */
    /* kb = k + 1023 is in [0, 2047] for every positive finite u.  k - (52 if
     * subnormal) is converted without int64 -> double (absent before
     * AVX-512DQ): 2^52 + n has the bit pattern 0x4330... + n. */
    const uint64_t kb = (tmp + (UINT64_C(1023) << 52)) >> 52;
    const double kd = he__asdouble(UINT64_C(0x4330000000000000) + 64 + kb - (sub & 52))
                      - (0x1p52 + 1087.0);

    const double invc = he__log_invc[i];
    const double logc = he__log_logc[i];

    /* r + r_lo = z invc - 1 exactly. */
    const double z = he__asdouble(iz);
    double r, r_lo;
    if (use_fma) {
        /* pz - 1 is exact (Sterbenz), the FMA gives the product's error. */
        const double pz = z * invc;
        r_lo = HE__FMA(z, invc, -pz);
        r = pz - 1.0;
    } else {
        /* invc has <= 26 bits and zh the top 27 bits of z: zh invc, zl invc
         * and zh invc - 1 are exact; 2Sum adds them (either may be larger). */
        const double zh = he__asdouble(iz & UINT64_C(0xfffffffffc000000));
        const double zl = z - zh;
        const double rh = zh * invc - 1.0;
        const double rl = zl * invc;
        r = rh + rl;
        const double t = r - rh;
        r_lo = (rh - (r - t)) + (rl - t);
    }
    if (with_e) {
        /* r + r_lo += e invc / 2^k, renormalised by a second 2Sum so that r
         * is the rounded sum (else hi and lo below may cancel).  2^-k is built
         * from the exponent field; kb is clamped so the bits stay a finite
         * double (e = 0 where that matters). */
        const uint64_t kc = kb > 2045 ? 2045 : kb;
        const double scale = he__asdouble((UINT64_C(2046) - kc) << 52);
        const double b = r_lo + (e * scale) * invc;
        const double s = r + b;
        const double s_t = s - r;
        r_lo = (r - (s - s_t)) + (b - s_t);
        r = s;
    }

    /* hi + w_err + hi_err = k LN2HI + logc + r exactly (two Fast2Sum: valid
     * as |k LN2HI| >= 0.69 > |logc| >= |r| or the larger term is 0). */
    const double a = kd * he__log_ln2hi;          /* exact */
    const double w = a + logc;
    const double w_err = (a - w) + logc;
    const double hi = w + r;
    const double hi_err = (w - hi) + r;

    /* The polynomial needs r to about 2^-62 relative near its extremes: the
     * FMA split leaves |r_lo| up to 2^-54, so it gets r + r_lo rounded. */
    const double rp = (use_fma && !with_e) ? r + r_lo : r;
    const double r2 = rp * rp;
    const double p = r2 * ((he__log_p0 + rp * he__log_p1)
                           + r2 * ((he__log_p2 + rp * he__log_p3) + r2 * he__log_p4));
    const double lo = ((w_err + hi_err) + (r_lo + kd * he__log_ln2lo)) + p;
    return hi + lo;
}

/* he__log(x, use_fma), he__log1p(x, use_fma): he_log / he_log1p with the
 * FMA form of the reduction when use_fma is 1.  Pass 1 only where the code
 * is compiled for a target with FMA (`#if defined(__FMA__)`), else the FMA is
 * a libm call (dense_simd.h picks the form per target). */
HE_ALWAYS_INLINE double he__log(double x, const int use_fma)
{
    const double y = he__log_core(x, 0.0, 0, use_fma);
    /* specials: +-0 -> -inf, +inf -> +inf, negative, -inf and NaN -> NaN */
    const double special = x == 0.0 ? -INFINITY : (x > 0.0 ? x : NAN);
    return he_select((x > 0.0) & (x < INFINITY), y, special);
}

HE_ALWAYS_INLINE double he__log1p(double x, const int use_fma)
{
    const double u = 1.0 + x;
    /* 2Sum: e = (1 + x) - u exactly; it is dropped (relative size < 2^-53 of
     * log u, and 2^-k would underflow) once x >= 2^53. */
    const double v = u - 1.0;
    const double e_full = (1.0 - (u - v)) + (x - v);
    const double e = he_select(x < 0x1p53, e_full, 0.0);
    const double y = he__log_core(u, e, 1, use_fma);
    const double special = u == 0.0 ? -INFINITY : (u > 0.0 ? u : NAN);
    const double res = he_select((u > 0.0) & (u < INFINITY), y, special);
    return he_select(x == 0.0, x, res);            /* log1p(-0) = -0 */
}

HE_ALWAYS_INLINE double he__xlogx(double x, const int use_fma)
{
    return he_select(x == 0.0, 0.0, x * he__log(x, use_fma));
}

/* The portable versions (no FMA); vlog_simd.h has per-target ones. */

/* Natural logarithm, max error < 0.52 ulp, vectorisable. */
HE_ALWAYS_INLINE double he_log(double x) { return he__log(x, 0); }
/* log(1 + x), max error < 0.52 ulp, vectorisable. */
HE_ALWAYS_INLINE double he_log1p(double x) { return he__log1p(x, 0); }
/* x log x with 0 log 0 = 0 (and +inf -> +inf, x < 0 or NaN -> NaN). */
HE_ALWAYS_INLINE double he_xlogx(double x) { return he__xlogx(x, 0); }


/* ---- he__log_notable: log without a table (see "Table-free variant") ---- */

/* sqrt(2)/2 rounded: z = x 2^-k lies in [OFF, 2 OFF) = [0.7071.., 1.4142..). */
#define HE__LOGNT_OFF UINT64_C(0x3fe6a09e667f3bcd)

/* Q(w) = (2 atanh(s) - 2 s) / s^3 = 2/3 + 2w/5 + 2w^2/7 + ...,  w = s^2:
 * degree-7 minimax (relative error) on [0, 0.02944] (|s| <= 0.17158), error
 * 2^-58.2 before and 2^-54.0 after rounding the coefficients to double (the
 * rounding of 2/3 sets that floor); R = w Q(w) then contributes at most
 * ~0.003 ulp to the result.  Generator at the end of this file. */
static const double he__lognt_q0 = 0x1.5555555555555p-1;
static const double he__lognt_q1 = 0x1.9999999999a38p-2;
static const double he__lognt_q2 = 0x1.2492492476b5cp-2;
static const double he__lognt_q3 = 0x1.c71c72017e791p-3;
static const double he__lognt_q4 = 0x1.745cf8f619509p-3;
static const double he__lognt_q5 = 0x1.3b1c3838be4d2p-3;
static const double he__lognt_q6 = 0x1.0fbe4da5350cep-3;
static const double he__lognt_q7 = 0x1.0c0665f5240fcp-3;

/* he__log_notable(x, use_fma): natural logarithm, the contract of he__log
 * (branch-free, no libm call, vectorisable, special values as C99 Annex F)
 * with max error < 0.7 ulp (by the analysis in the header
 * comment) instead of 0.501, and one division instead of two table
 * look-ups.  Pass use_fma = 1 only where the target has FMA. */
HE_ALWAYS_INLINE double he__log_notable(double x, const int use_fma)
{
    /* x = 2^k z, z in [OFF, 2 OFF), split on the bit pattern as in
     * he__log_core.  Subnormals (and the specials below 2^-1022, whose result
     * is replaced anyway): OR-ing the exponent of 2^52 into the bits gives
     * 2^52 + m, so (2^52 + m) - 2^52 = m = x 2^1074 exactly, normalised;
     * k is then lowered by 1074.  Selected on the bits (see he_select). */
    const uint64_t sub = (uint64_t)0 - (uint64_t)(x < 0x1p-1022);  /* all ones or 0 */
    const uint64_t ix0 = he__asuint64(x);
    const double xm = he__asdouble(ix0 | UINT64_C(0x4330000000000000)) - 0x1p52;
    const uint64_t ix = (he__asuint64(xm) & sub) | (ix0 & ~sub);
    const uint64_t tmp = ix - HE__LOGNT_OFF;
    const uint64_t top = tmp & UINT64_C(0xfff0000000000000);      /* k << 52 */
    const double z = he__asdouble(ix - top);       /* always in [OFF, 2 OFF) */
    /* kd = k - (1074 if subnormal) as a double, without int64 -> double:
     * kb = k + 1023 is in [0, 2047] for every positive finite input. */
    const uint64_t kb = (tmp + (UINT64_C(1023) << 52)) >> 52;
    const double kd = he__asdouble(UINT64_C(0x4330000000000000) + 1088 + kb - (sub & 1074))
                      - (0x1p52 + 2111.0);

    /* log z = log1p(f) = f - h f + s (h f + R),  h = f/2,  s = f / (2 + f),
     * R = 2 atanh(s) - 2 s = w Q(w),  w = s^2  (as 2 atanh(s) = log1p(f) and
     * 2 s = f - s f, s f = h f (1 - s)). */
    const double f = z - 1.0;                      /* exact (Sterbenz) */
    const double h = 0.5 * f;                      /* exact */
    const double s = f / (2.0 + f);                /* |s| <= 0.17158 */
    const double w = s * s;
    const double q = he__lognt_q0 + w * (he__lognt_q1 + w * (he__lognt_q2 + w * (he__lognt_q3
                     + w * (he__lognt_q4 + w * (he__lognt_q5 + w * (he__lognt_q6
                     + w * he__lognt_q7))))));
    const double R = w * q;
    double t, t_err, X;
    if (use_fma) {
        /* t + t_err = f - h f, t_err rounded (|t_err| <= ulp(t)/2): f - t
         * is exact (Sterbenz: t / f in [0.79, 1.15]) and so is the last
         * FMA's input; its result is t_err to within 2^-53 relative. */
        t = HE__FMA(-h, f, f);
        t_err = HE__FMA(-h, f, f - t);
        X = HE__FMA(h, f, R);
    } else {
        /* h f = hfsq + hfsq_lo (Dekker: f = fh + fl, fh the top 26 bits;
         * fh fh, fh fl exact, fl fl below 2^-104 |f|^2), then Fast2Sum of
         * f - hfsq (|f| >= |hfsq|).  Contraction into FMAs where the target
         * has them keeps every step exact or more accurate. */
        const double hfsq = h * f;
        const double fh = he__asdouble(he__asuint64(f) & UINT64_C(0xfffffffff8000000));
        const double fl = f - fh;
        const double hfsq_lo = ((0.5 * fh * fh - hfsq) + fh * fl) + 0.5 * fl * fl;
        t = f - hfsq;
        t_err = ((f - t) - hfsq) - hfsq_lo;
        X = hfsq + R;
    }
    /* hi + hi_err = k LN2HI + t exactly (k LN2HI exact, 42-bit LN2HI;
     * Fast2Sum: |k LN2HI| >= 0.69 > |t|, or k = 0), then everything small is
     * added to lo, the s X term last (an FMA where there is one: one rounding
     * less on the largest error term), and the result is rounded once. */
    const double a = kd * he__log_ln2hi;
    const double hi = a + t;
    const double hi_err = (a - hi) + t;
    const double rest = (hi_err + t_err) + kd * he__log_ln2lo;
    double lo;
    if (use_fma) {
        lo = HE__FMA(s, X, rest);
    } else {
        /* s X = p + p_err (Dekker, 26-bit halves by masking), so that this
         * path too rounds s X only once, in lo. */
        const uint64_t m26 = UINT64_C(0xfffffffff8000000);
        const double p = s * X;
        const double sh = he__asdouble(he__asuint64(s) & m26), sl = s - sh;
        const double xh = he__asdouble(he__asuint64(X) & m26), xl = X - xh;
        const double p_err = (((sh * xh - p) + sh * xl) + sl * xh) + sl * xl;
        lo = p + (rest + p_err);
    }
    const double y = hi + lo;
    /* specials: +-0 -> -inf, +inf -> +inf, negative, -inf and NaN -> NaN */
    const double special = x == 0.0 ? -INFINITY : (x > 0.0 ? x : NAN);
    return he_select((x > 0.0) & (x < INFINITY), y, special);
}

HE_ALWAYS_INLINE double he__xlogx_notable(double x, const int use_fma)
{
    return he_select(x == 0.0, 0.0, x * he__log_notable(x, use_fma));
}

/* Portable version (no FMA): natural logarithm, max error < 0.7 ulp. */
HE_ALWAYS_INLINE double he_log_notable(double x) { return he__log_notable(x, 0); }

/* ---- exp and expm1 ------------------------------------------------------ */

/* e^r - 1 for |r| <= log(2)/2 + tiny: Taylor to degree 14 (the first term
 * left out is below 2^-62 relative), Horner; 1-2 ulp. */
HE_ALWAYS_INLINE double he__expm1_poly(double r)
{
    double p = 1.0 / 87178291200.0;                   /* 1/14! */
    p = p * r + 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    return r + (r * r) * p;
}

/* 2^k for an integer-valued k in [-1022, 1023], from its bits: k + 1023
 * lands in the low bits of t = k + 1023 + 1.5 * 2^52, shifted into the
 * exponent field (no double-to-integer conversion, which AVX2 lacks). */
HE_ALWAYS_INLINE double he__pow2i(double k)
{
    return he__asdouble(he__asuint64(k + (1023.0 + 0x1.8p52)) << 52);
}

/* e^x - 1 (*expm1) and e^x (*exp) for any x, branch-free: x = k log 2 + r,
 * |r| <= log(2)/2 (Cody-Waite, log 2 in two parts), e^r - 1 by he__expm1_poly,
 * then the scale 2^k in two factors (so that 2^k below or above the normal
 * range over/underflows as the result does).  expm1 is the polynomial itself
 * where k = 0 (|x| < log(2)/2); elsewhere e^x - 1 cancels by at most 4x.
 * NaN gives NaN; a few ulp. */
HE_ALWAYS_INLINE void he__exp_expm1(double x, double *exp_out, double *expm1_out)
{
    const double shifter = 0x1.8p52;
    double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
    double k = (xc * 0x1.71547652b82fep0 + shifter) - shifter;   /* round(x / log 2) */
    double r = (xc - k * 0x1.62e42fee00000p-1) - k * 0x1.a39ef35793c76p-33;
    double p = he__expm1_poly(he_select(x == x, r, x));
    double k1 = (k * 0.5 + shifter) - shifter, k2 = k - k1;
    double e = ((1.0 + p) * he__pow2i(k1)) * he__pow2i(k2);
    *exp_out = e;
    *expm1_out = he_select(k == 0.0, p, e - 1.0);
}


#endif /* HISTENTROPY_VLOG_H */


/* Table generator (Python + mpmath; about 15 s).  Re-run only to change the
 * table; tests/test_simd_log.py checks the properties it guarantees.
 *
 *   import struct, mpmath as mp
 *   mp.mp.prec = 200
 *   bits = lambda d: struct.unpack('<Q', struct.pack('<d', d))[0]
 *   fbits = lambda u: struct.unpack('<d', struct.pack('<Q', u))[0]
 *   ulp = lambda v: mp.mpf(2) ** (mp.floor(mp.log(abs(v), 2)) - 52)
 *   OFF, SH = 0x3fe6a80000000000, 44    # 1.0 = centre of entry 149
 *   for i in range(256):
 *       a = mp.mpf(fbits(OFF + i * 2**SH)); b = mp.mpf(fbits(OFF + (i + 1) * 2**SH))
 *       if a < 1 < b: print('0x1p+0, 0x0p+0'); continue
 *       t = 2 / (a + b); g = mp.mpf(2) ** (int(mp.floor(mp.log(t, 2))) - 25)
 *       base = int(mp.nint(t / g)); best = None
 *       for j in range(-1024, 1025):                 # 26-bit candidates
 *           inv = (base + j) * g; L = -mp.log(inv); Ld = float(L)
 *           err = abs(L - Ld) / ulp(Ld)
 *           if best is None or err < best[0]: best = (err, float(inv), Ld)
 *       print(best[1].hex(), best[2].hex())
 *
 * P: mpmath.chebyfit of (log1p(r) - r)/r^2 on [-0.00197, 0.00197], 5 terms,
 * rounded to double with P0 set to -1/2.
 *
 * he__lognt_q0..q7 (he__log_notable): Remez exchange (relative error, 200
 * bits, 12 iterations from Chebyshev nodes, extrema located on a 4001-point
 * grid) for Q(w) = sum_j 2 w^j / (2j + 3) on [0, 0.02944], degree 7, each
 * coefficient rounded to the nearest double; tests/test_simd_log.py checks
 * the rounded polynomial against mpmath.
 */
