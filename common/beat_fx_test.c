/* Unit tests of the currency table (beat_fx.c): parsing and its refusals,
 * lookups, and the rounding of both conversions. */
#include <errno.h>
#include <string.h>

#include "beat_fx.h"
#include "beat_test.h"

static int t_parse(void) {
    beat_fx fx;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_fx_parse("EUR=1.25,gbp=2,", &fx, &why), 0);
    CHECK_EQ_INT(fx.n, 2);
    CHECK(beat_fx_rate(&fx, "GBP") == 2.0 && beat_fx_rate(&fx, "eur") == 1.25);
    CHECK(beat_fx_rate(&fx, "usd") == 1.0 && beat_fx_rate(&fx, "JPY") == 0);
    CHECK(beat_fx_rate(&fx, "EURO") == 0 && beat_fx_rate(&fx, "") == 0);
    CHECK(beat_fx_rate(&fx, NULL) == 0 && beat_fx_rate(NULL, "USD") == 1.0);
    static const char *const bad[] = {"EUR=0",  "EUR=-1",      "EUR=abc", "EUR=",   "EU=1",
                                      "EURO=1", "E1R=1",       "EUR",     ",EUR=1", "EUR=1,,GBP=2",
                                      "USD=1",  "EUR=1,eur=2", "EUR=2e6", "EUR=nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        beat_fx keep = fx;
        CHECK_EQ_INT(beat_fx_parse(bad[i], &fx, &why), -EINVAL);
        CHECK(why.msg[0] != '\0');
        CHECK(memcmp(&keep, &fx, sizeof fx) == 0); /* written on success only */
    }
    CHECK_EQ_INT(beat_fx_parse(NULL, &fx, &why), 0);
    CHECK_EQ_INT(fx.n, 0);
    CHECK(beat_fx_rate(&fx, "EUR") == 0 && beat_fx_rate(&fx, "USD") == 1.0);
    return 0;
}

/* The documented default parses and holds the currencies it names. */
static int t_default(void) {
    beat_fx fx;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_fx_parse(BEAT_FX_DEFAULT, &fx, &why), 0);
    CHECK(fx.n >= 2 && beat_fx_rate(&fx, "EUR") > 0 && beat_fx_rate(&fx, "GBP") > 0);
    return 0;
}

static int t_convert(void) {
    beat_fx fx;
    beat_reason why = {{0}};
    CHECK_EQ_INT(beat_fx_parse("EUR=1.08,JPY=0.0062", &fx, &why), 0);
    int64_t v = 0;
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "EUR", 2000000, &v), 0);
    CHECK_EQ_INT(v, 2160000);
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "usd", 1234567, &v), 0);
    CHECK_EQ_INT(v, 1234567);
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "JPY", 81, &v), 0); /* 0.5022 → 1, nearest */
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "GBP", 1, &v), -ENOENT);
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "JPY", 1000000000000LL, &v), 0);
    CHECK_EQ_INT(beat_fx_to_usd(&fx, "EUR", 1000000000000LL, &v), -ERANGE);
    /* USD → EUR rounds down, and back never exceeds what we started from */
    CHECK_EQ_INT(beat_fx_from_usd(&fx, "EUR", 2500000, &v), 0);
    CHECK_EQ_INT(v, 2314814);                                   /* 2.3148148… */
    CHECK_EQ_INT(beat_fx_from_usd(&fx, "EUR", 2160000, &v), 0); /* a floor's exact value */
    CHECK_EQ_INT(v, 2000000);
    for (int64_t usd = 1; usd < 5000000; usd += 7919) {
        int64_t eur = 0, back = 0;
        CHECK_EQ_INT(beat_fx_from_usd(&fx, "EUR", usd, &eur), 0);
        CHECK_EQ_INT(beat_fx_to_usd(&fx, "EUR", eur, &back), 0);
        CHECK(back <= usd && back >= usd - 2);
    }
    CHECK_EQ_INT(beat_fx_from_usd(&fx, "XXX", 1, &v), -ENOENT);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"parse", t_parse},
        {"default", t_default},
        {"convert", t_convert},
        {0},
    };
    return beat_test_main("beat_fx", tests, argc, argv);
}
