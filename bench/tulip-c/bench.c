/*
 * Tulip Indicators called directly from C: the 10-indicator set of `npm run bench` over the same
 * synthetic data file (raw little-endian doubles; series s, field f (open, high, low, close, volume),
 * bar i at index (s*5 + f)*bars + i), with every output buffer allocated once and reused.
 *
 * Build (done by bench/lib/tulip-c.ts into a temp dir; nothing is committed):
 *   gcc <flags> -I node_modules/tulind/external bench/tulip-c/bench.c \
 *       node_modules/tulind/external/tiamalgamation.c -lm -o <tmp>/tulip-bench
 * Usage: tulip-bench DATA_FILE SERIES BARS PASSES [INDICATOR_PASSES]  (the latter defaults to PASSES)
 * Prints one JSON object: warm-up and per-pass seconds (CLOCK_MONOTONIC) of the whole set, their
 * median, the median of each indicator alone over all series (same method), and a checksum.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "indicators.h"

#define FIELDS 5
#define MAX_PASSES 1000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check(int rc, const char *name) {
    if (rc != TI_OKAY) {
        fprintf(stderr, "ti_%s failed with %d\n", name, rc);
        exit(2);
    }
}

/* Output buffers: 15 arrays of `bars` doubles, allocated once. */
static double *o_sma, *o_ema, *o_rsi, *o_macd, *o_macd_sig, *o_macd_hist, *o_atr,
    *o_bb_lower, *o_bb_middle, *o_bb_upper, *o_adx, *o_stoch_k, *o_stoch_d, *o_obv, *o_cci;

#define INDICATORS 10
static const char *const NAMES[INDICATORS] = {"sma", "ema", "rsi", "macd", "atr", "bbands", "adx", "stoch", "obv", "cci"};

/* Indicator `which` (index into NAMES) on series `s`; returns its last output value (a checksum term). */
static double run_one(int which, const double *data, int s, int bars) {
    static const double o20[] = {20}, o14[] = {14}, o_macd_opt[] = {12, 26, 9}, o_bb[] = {20, 2},
                        o_stoch[] = {14, 3, 3};
    const double *high = data + ((size_t)s * FIELDS + 1) * (size_t)bars;
    const double *low = data + ((size_t)s * FIELDS + 2) * (size_t)bars;
    const double *close = data + ((size_t)s * FIELDS + 3) * (size_t)bars;
    const double *volume = data + ((size_t)s * FIELDS + 4) * (size_t)bars;
    const double *in_c[] = {close};
    const double *in_hlc[] = {high, low, close};
    const double *in_cv[] = {close, volume};
    switch (which) {
    case 0: {
        double *out[] = {o_sma};
        check(ti_sma(bars, in_c, o20, out), "sma");
        return o_sma[bars - 1 - ti_sma_start(o20)];
    }
    case 1: {
        double *out[] = {o_ema};
        check(ti_ema(bars, in_c, o20, out), "ema");
        return o_ema[bars - 1 - ti_ema_start(o20)];
    }
    case 2: {
        double *out[] = {o_rsi};
        check(ti_rsi(bars, in_c, o14, out), "rsi");
        return o_rsi[bars - 1 - ti_rsi_start(o14)];
    }
    case 3: {
        double *out[] = {o_macd, o_macd_sig, o_macd_hist};
        check(ti_macd(bars, in_c, o_macd_opt, out), "macd");
        return o_macd_hist[bars - 1 - ti_macd_start(o_macd_opt)];
    }
    case 4: {
        double *out[] = {o_atr};
        check(ti_atr(bars, in_hlc, o14, out), "atr");
        return o_atr[bars - 1 - ti_atr_start(o14)];
    }
    case 5: {
        double *out[] = {o_bb_lower, o_bb_middle, o_bb_upper};
        check(ti_bbands(bars, in_c, o_bb, out), "bbands");
        return o_bb_upper[bars - 1 - ti_bbands_start(o_bb)];
    }
    case 6: {
        double *out[] = {o_adx};
        check(ti_adx(bars, in_hlc, o14, out), "adx");
        return o_adx[bars - 1 - ti_adx_start(o14)];
    }
    case 7: {
        double *out[] = {o_stoch_k, o_stoch_d};
        check(ti_stoch(bars, in_hlc, o_stoch, out), "stoch");
        return o_stoch_d[bars - 1 - ti_stoch_start(o_stoch)];
    }
    case 8: {
        double *out[] = {o_obv};
        check(ti_obv(bars, in_cv, NULL, out), "obv");
        return o_obv[bars - 1 - ti_obv_start(NULL)];
    }
    default: {
        double *out[] = {o_cci};
        check(ti_cci(bars, in_hlc, o20, out), "cci");
        return o_cci[bars - 1 - ti_cci_start(o20)];
    }
    }
}

/* All 10 indicators on every series (only = -1), or indicator `only` on every series. */
static double one_pass(const double *data, int series, int bars, int only) {
    double checksum = 0;
    for (int s = 0; s < series; ++s) {
        if (only >= 0) {
            checksum += run_one(only, data, s, bars);
        } else {
            for (int w = 0; w < INDICATORS; ++w) checksum += run_one(w, data, s, bars);
        }
    }
    return checksum;
}

static double checksum = 0;
static double times[MAX_PASSES], sorted[MAX_PASSES];

/* One warm-up pass, then `passes` timed passes; returns the median seconds (warm-up in *warmup). */
static double time_passes(const double *data, int series, int bars, int only, int passes, double *warmup) {
    double t0 = now_s();
    checksum += one_pass(data, series, bars, only);
    *warmup = now_s() - t0;
    for (int p = 0; p < passes; ++p) {
        t0 = now_s();
        checksum += one_pass(data, series, bars, only);
        times[p] = now_s() - t0;
    }
    memcpy(sorted, times, (size_t)passes * sizeof(double));
    qsort(sorted, (size_t)passes, sizeof(double), cmp_double);
    return passes % 2 ? sorted[passes / 2] : (sorted[passes / 2 - 1] + sorted[passes / 2]) / 2;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s DATA_FILE SERIES BARS PASSES [INDICATOR_PASSES]\n", argv[0]);
        return 1;
    }
    const char *path = argv[1];
    const int series = atoi(argv[2]), bars = atoi(argv[3]), passes = atoi(argv[4]);
    const int ind_passes = argc == 6 ? atoi(argv[5]) : passes;
    if (series <= 0 || bars <= 0 || passes <= 0 || passes > MAX_PASSES || ind_passes <= 0 || ind_passes > MAX_PASSES) {
        fprintf(stderr, "bad SERIES/BARS/PASSES\n");
        return 1;
    }
    const size_t count = (size_t)series * FIELDS * (size_t)bars;
    double *data = malloc(count * sizeof(double));
    FILE *f = fopen(path, "rb");
    if (!data || !f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    if (fread(data, sizeof(double), count, f) != count || fgetc(f) != EOF) {
        fprintf(stderr, "%s does not hold exactly %zu doubles\n", path, count);
        return 1;
    }
    fclose(f);

    double **bufs[] = {&o_sma, &o_ema, &o_rsi, &o_macd, &o_macd_sig, &o_macd_hist, &o_atr, &o_bb_lower,
                       &o_bb_middle, &o_bb_upper, &o_adx, &o_stoch_k, &o_stoch_d, &o_obv, &o_cci};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) {
        *bufs[i] = malloc((size_t)bars * sizeof(double));
        if (!*bufs[i]) return 1;
    }

    double warmup = 0, ignored = 0;
    const double med = time_passes(data, series, bars, -1, passes, &warmup);
    printf("{\"ti_version\":\"%s\",\"series\":%d,\"bars\":%d,\"warmup_s\":%.9f,\"median_s\":%.9f,\"passes_s\":[",
           TI_VERSION, series, bars, warmup, med);
    for (int p = 0; p < passes; ++p) printf("%s%.9f", p ? "," : "", times[p]);
    printf("],\"per_indicator_s\":{");
    for (int w = 0; w < INDICATORS; ++w) {
        const double m = time_passes(data, series, bars, w, ind_passes, &ignored);
        printf("%s\"%s\":%.9f", w ? "," : "", NAMES[w], m);
    }
    printf("},\"checksum\":%.17g}\n", checksum);
    return 0;
}
