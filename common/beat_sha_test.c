/* Unit tests for beat_sha: the FIPS 180-2 test vectors, hex encoding. */
#include "beat_sha.h"
#include "beat_test.h"

#include <string.h>

static int t_vectors(void) {
    char hex[2 * BEAT_SHA256_LEN + 1];
    beat_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    beat_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    uint8_t md[BEAT_SHA256_LEN];
    CHECK(beat_sha256("abc", 3, md) == 0);
    CHECK(md[0] == 0xba && md[31] == 0xad);
    return 0;
}

static int t_hex(void) {
    const uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[9];
    memset(out, 'x', sizeof out);
    beat_hex(b, sizeof b, out);
    CHECK(strcmp(out, "000fa5ff") == 0);
    beat_hex(b, 0, out);
    CHECK(out[0] == '\0');
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case tests[] = {
        {"vectors", t_vectors},
        {"hex", t_hex},
        {0},
    };
    return beat_test_main("beat_sha", tests, argc, argv);
}
