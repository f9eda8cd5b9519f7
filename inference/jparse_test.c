/* The one-pass parser (jparse.c) against cJSON on the texts where their
 * rules are easiest to get wrong: literals, numbers (strtod's grammar and
 * value, runs past 63 bytes), escapes and surrogates, whitespace and a
 * BOM, nesting at the limit, and the byte a failure is reported at. Then
 * what a schema keeps: the first of duplicate names, escaped and
 * NUL-cut names, null members, capped arrays. fuzz_openrtb_diff does the
 * same on arbitrary bytes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat_test.h"
#include "jparse.h"

static const inf_jschema none = {NULL, 0, false, NULL, 0};

/* inf_jparse(text) and cJSON agree on verdict, end or error offset, and
 * the value of a scalar root. */
static int agree(const char *text, size_t len) {
    const char *cend = NULL;
    cJSON *t = cJSON_ParseWithLengthOpts(text, len, &cend, 0);
    inf_jmem *m = inf_jmem_new();
    CHECK(m != NULL);
    char *copy = inf_jmem_alloc(m, len + 1);
    CHECK(copy != NULL);
    memcpy(copy, text, len);
    inf_jv *root;
    size_t end;
    int rc = inf_jparse(m, copy, len, &none, &root, &end);
    if ((rc == 0) != (t != NULL) || (size_t)(cend - text) != end) {
        fprintf(stderr, "  \"%.*s\": jparse rc=%d end=%zu, cJSON %s end=%zu\n", (int)len, text, rc,
                end, t ? "ok" : "fail", (size_t)(cend - text));
        CHECK(false);
    }
    if (t && cJSON_IsNumber(t)) {
        CHECK(root->type == INF_J_NUM);
        CHECK(memcmp(&root->d, &t->valuedouble, sizeof root->d) == 0);
    }
    if (t && cJSON_IsString(t)) CHECK(root->type == INF_J_STR && !strcmp(root->s, t->valuestring));
    cJSON_Delete(t);
    inf_jmem_free(m);
    return 0;
}

static int test_grammar(void) {
    static const char *const texts[] = {
        "null", "nul", "nullx", "true", "tru", "false", "fals", "[true,false,null]", "[nulll]",
        /* numbers: what strtod takes of the [0-9+-eE.] run */
        "0", "-0", "01", "-", "--1", "-+1", "1.", "-.5", ".5", "1.e5", "1e", "1e+", "1e+5", "1E-05",
        "1.2.3", "[1.2.3]", "[1e5e5]", "[1-2]", "0.1", "0.3", "123456789012345", "1234567890123456",
        "9007199254740993", "0.1234567890123456789", "1e400", "-1e400", "4.9e-324",
        "2.2250738585072011e-308", "[0.05,40.7128,-74.006,1.5e2]",
        "1111111111111111111111111111111111111111111111111111111111111111111111",
        "[11111111111111111111111111111111111111111111111111111111111111111111111.5]",
        /* strings */
        "\"\"", "\"abc", "\"a\\", "\"a\\\"", "\"\\q\"", "\"\\u00e9\"", "\"\\u0000x\"",
        "\"\\uZZZZ\"", "\"\\u12\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ud83dx\\ude00\"",
        "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\u\\\"abc\"", "\"\\b\\f\\n\\r\\t\\/\\\\\"",
        /* containers and the offsets of their failures */
        "{}", "[]", "{", "[", "{ ", "[ ", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,",
        "{\"a\":1, ", "{a:1}", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\":1}}", "[[[]]]",
        " \t\n{} ", "\x01{\x1f}", "\xef\xbb\xbf{}", "\xef\xbb\xbf", "\xef\xbb\xbf{", "\xef\xbb",
        "x", " ", "{\"k\\u0000x\":1,\"\":2}", "[\"a\",{\"b\":[1,{\"c\":null}]}]"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (agree(texts[i], strlen(texts[i])) != 0) return 1;
    static const char nul[] = "{\"a\":\0 1}"; /* a NUL byte is whitespace to both */
    if (agree(nul, sizeof nul - 1) != 0) return 1;
    return 0;
}

/* Nesting: 1000 containers parse, 1001 do not (cJSON's limit). */
static int test_depth(void) {
    for (int depth = 999; depth <= 1001; depth++) {
        char *t = malloc(2 * (size_t)depth + 1);
        CHECK(t != NULL);
        for (int i = 0; i < depth; i++) t[i] = '[', t[2 * depth - 1 - i] = ']';
        if (agree(t, 2 * (size_t)depth) != 0) return 1;
        free(t);
    }
    return 0;
}

static const inf_jkey k_inner[] = {{"v", NULL}};
static const inf_jschema inner = {k_inner, 1, false, NULL, 0};
static const inf_jschema capped = {NULL, 0, true, &inner, 2};
static const inf_jkey k_top[] = {{"id", NULL}, {"o", &inner}, {"l", &capped}, {"", NULL}};
static const inf_jschema top = {k_top, 4, false, NULL, 0};

static int test_schema(void) {
    char text[] = "{\"x\":{\"id\":9},\"i\\u0064\":\"first\",\"id\":\"second\",\"o\":null,"
                  "\"o\":{\"v\":1},\"l\":[{\"v\":1},{\"v\":2},{\"v\":3}],\"\":true,\"k\":[1,2]}";
    inf_jmem *m = inf_jmem_new();
    CHECK(m != NULL);
    inf_jv *root, *it;
    size_t end;
    size_t len = strlen(text); /* before the parse unescapes in place */
    CHECK_EQ_INT(inf_jparse(m, text, len, &top, &root, &end), 0);
    CHECK_EQ_INT((int)end, (int)len);
    /* the escaped name is "id" and comes first; later ones are not kept */
    CHECK_EQ_STR(inf_jv_get(root, "id")->s, "first");
    CHECK(inf_jv_get(root, "o") == NULL); /* first "o" is null: absent, as cJSON + get */
    CHECK(inf_jv_get(root, "x") == NULL); /* not in the schema */
    CHECK(inf_jv_get(root, "k") == NULL);
    CHECK(inf_jv_is(inf_jv_get(root, ""), INF_J_TRUE));
    const inf_jv *l = inf_jv_get(root, "l");
    CHECK(inf_jv_is(l, INF_J_ARR));
    CHECK_EQ_INT(l->n, 3); /* counted */
    int kept = 0;
    JV_FOR(it, l) kept++;
    CHECK_EQ_INT(kept, 2); /* capped */
    CHECK(inf_jv_get(l->child->next, "v")->d == 2);
    CHECK(inf_jv_get(l, "v") == NULL); /* not an object */
    inf_jmem_free(m);

    /* a name cut by \u0000 is the name before it, as cJSON's C strings */
    char cut[] = "{\"id\\u0000junk\":\"a\"}";
    m = inf_jmem_new();
    CHECK_EQ_INT(inf_jparse(m, cut, strlen(cut), &top, &root, &end), 0);
    CHECK_EQ_STR(inf_jv_get(root, "id")->s, "a");
    inf_jmem_free(m);
    return 0;
}

int main(int argc, char **argv) {
    static const beat_test_case cases[] = {
        {"grammar", test_grammar},
        {"depth", test_depth},
        {"schema", test_schema},
        {NULL, NULL},
    };
    return beat_test_main("jparse", cases, argc, argv);
}
