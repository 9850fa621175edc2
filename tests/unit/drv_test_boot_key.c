/*
 * stack/driver/boot_key.c: the ISN key kept for the boot (docs/contract.md
 * §2.4 item 8). Made once, read back by every later stack, and refused
 * unless it is a private regular file of ours.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot_key.h"

struct dirs {
    char base[64], dir[96], path[160];
};

static int setup(void **state)
{
    struct dirs *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return -1;
    strcpy(d->base, "/tmp/tt_boot_key_XXXXXX");
    if (mkdtemp(d->base) == NULL)
        return -1;
    snprintf(d->dir, sizeof(d->dir), "%s/tuntcp", d->base);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dirs *d = *state;
    char tmp[200];

    unlink(d->path);
    snprintf(tmp, sizeof(tmp), "%s/isn-key", d->dir);
    unlink(tmp);
    rmdir(d->dir);
    rmdir(d->base);
    free(d);
    return 0;
}

static void made_once_then_read_back(void **state)
{
    struct dirs *d = *state;
    uint8_t k1[TT_BOOT_KEY_LEN], k2[TT_BOOT_KEY_LEN];
    struct stat st;

    assert_int_equal(tt_boot_key_load_dir(d->dir, k1, d->path, sizeof(d->path)), 0);
    assert_int_equal(stat(d->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, TT_BOOT_KEY_LEN);
    assert_int_equal(stat(d->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(tt_boot_key_load_dir(d->dir, k2, d->path, sizeof(d->path)), 0);
    assert_memory_equal(k1, k2, TT_BOOT_KEY_LEN);
}

static void readable_by_others_refused(void **state)
{
    struct dirs *d = *state;
    uint8_t k[TT_BOOT_KEY_LEN];

    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), 0);
    assert_int_equal(chmod(d->path, 0644), 0);
    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), -EPERM);
}

static void open_directory_refused(void **state)
{
    struct dirs *d = *state;
    uint8_t k[TT_BOOT_KEY_LEN];

    assert_int_equal(mkdir(d->dir, 0755), 0);
    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), -EPERM);
}

static void symlink_refused(void **state)
{
    struct dirs *d = *state;
    uint8_t k[TT_BOOT_KEY_LEN];
    char target[160];

    assert_int_equal(mkdir(d->dir, 0700), 0);
    snprintf(d->path, sizeof(d->path), "%s/isn-key", d->dir);
    snprintf(target, sizeof(target), "%s/elsewhere", d->base);
    assert_int_equal(symlink(target, d->path), 0);
    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), -ELOOP);
}

static void wrong_length_refused(void **state)
{
    struct dirs *d = *state;
    uint8_t k[TT_BOOT_KEY_LEN];
    FILE *f;

    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), 0);
    assert_non_null(f = fopen(d->path, "a"));
    fputc('x', f);
    fclose(f);
    assert_int_equal(tt_boot_key_load_dir(d->dir, k, d->path, sizeof(d->path)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(made_once_then_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(readable_by_others_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(open_directory_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_length_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
