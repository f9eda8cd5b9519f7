/* Replayer for libFuzzer targets: links with one fuzz_*.c and runs every
 * file named on the command line (or every file under named directories)
 * through LLVMFuzzerTestOneInput. Built with gcc under ASan/UBSan by
 * `make test`, so the saved corpus is checked on every run without clang. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n >= 0 ? malloc(n > 0 ? (size_t)n : 1) : NULL;
    if (!buf) { /* not a regular file after all, or no memory */
        fclose(f);
        return -1;
    }
    size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

/* Runs every regular file under path, recursing into directories, so a seed
 * tree (tests/fixtures/openrtb/) can be named as a whole. */
static void run_tree(const char *path, int depth, int *files, int *bad) {
    struct stat st;
    if (stat(path, &st) != 0 || depth > 8) {
        (*bad)++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        *bad += run_file(path) != 0;
        (*files)++;
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        run_tree(p, depth + 1, files, bad);
    }
    if (d) closedir(d);
}

int main(int argc, char **argv) {
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) run_tree(argv[i], 0, &files, &bad);
    printf("replay: %d passed, %d failed\n", files - bad, bad);
    return bad ? 1 : 0;
}
