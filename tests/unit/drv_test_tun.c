/*
 * stack/driver/tun.c: which errors of a read or write on the TUN device end the
 * run (the device is gone) and which do not (tt_tun_err_kind). Measured on
 * Linux: a deleted interface makes read() and write() fail with EBADFD; a
 * link set down makes write() fail with EIO until it is up again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tun.h"

/* Nothing wrong with the device: the driver tries again later. */
static void transient_errors_are_retried(void **state)
{
    (void)state;
    assert_int_equal(tt_tun_err_kind(-EAGAIN), TUN_ERR_RETRY);
    assert_int_equal(tt_tun_err_kind(-EWOULDBLOCK), TUN_ERR_RETRY);
    assert_int_equal(tt_tun_err_kind(-EINTR), TUN_ERR_RETRY);
    assert_int_equal(tt_tun_err_kind(-ENOBUFS), TUN_ERR_RETRY);
    assert_int_equal(tt_tun_err_kind(-ENOMEM), TUN_ERR_RETRY);
}

/* One datagram is lost, as on a wire; the run goes on. */
static void link_down_and_refused_datagram_drop_only(void **state)
{
    (void)state;
    assert_int_equal(tt_tun_err_kind(-EIO), TUN_ERR_DROP); /* ip link set tt0 down */
    assert_int_equal(tt_tun_err_kind(-EINVAL), TUN_ERR_DROP);
    assert_int_equal(tt_tun_err_kind(-EMSGSIZE), TUN_ERR_DROP);
}

/* The device is gone or the descriptor unusable: the run must end. */
static void lost_device_is_fatal(void **state)
{
    (void)state;
    assert_int_equal(tt_tun_err_kind(-EBADFD), TUN_ERR_FATAL); /* ip link del tt0 */
    assert_int_equal(tt_tun_err_kind(-EBADF), TUN_ERR_FATAL);
    assert_int_equal(tt_tun_err_kind(-ENODEV), TUN_ERR_FATAL);
    assert_int_equal(tt_tun_err_kind(-ENXIO), TUN_ERR_FATAL);
    assert_int_equal(tt_tun_err_kind(-EFAULT), TUN_ERR_FATAL);
    assert_int_equal(tt_tun_err_kind(-EPERM), TUN_ERR_FATAL); /* unknown: never silently ignored */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transient_errors_are_retried),
        cmocka_unit_test(link_down_and_refused_datagram_drop_only),
        cmocka_unit_test(lost_device_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
