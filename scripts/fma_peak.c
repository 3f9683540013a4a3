/* The cores' peak f32 fused multiply-add rate, to set `plstar bench`'s GEMM rate against.
 *
 * Each thread runs 12 independent chains of 512-bit FMAs (a = a·b + c; enough in flight to
 * cover the FMA latency on two pipes), 16 lanes × 2 flops each. The chains start from
 * different values so that the compiler cannot merge them (check: `objdump -d fma_peak | grep
 * -c 'vfmadd...ps'` prints 12).
 *
 *   gcc -O2 -mavx512f -mfma -pthread scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * Measured on the 2-core development machine (AMD EPYC, family 25 model 17, 2026-12-01):
 * 116.7 GFLOP/s on one thread, 222–234 on two, against 205–211 GFLOP/s for a large f32 GEMM
 * (faer in `plstar bench`, OpenBLAS 0.3.31 through numpy): the GEMM runs at about 90% of peak.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define FMAS_PER_CHAIN 16666666L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *run(void *out) {
    __m512 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps(1.0f + 0.1f * i);
    const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < FMAS_PER_CHAIN; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    *(float *)out = _mm512_reduce_add_ps(s); /* keeps the chains live */
    return 0;
}

int main(void) {
    for (int threads = 1; threads <= 2; threads++) {
        double best = 0.0;
        for (int rep = 0; rep < 3; rep++) {
            pthread_t t[2];
            float out[2];
            double t0 = now();
            for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, run, &out[i]);
            for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
            double rate = threads * 12.0 * FMAS_PER_CHAIN * 16 * 2 / (now() - t0) / 1e9;
            if (rate > best) best = rate;
        }
        printf("%d thread(s): %.1f GFLOP/s (best of 3)\n", threads, best);
    }
    return 0;
}
