/*
 * stack/driver/pcapng.c and capture.c (docs/contract.md §5.1): a pcapng
 * written through the API and read back block by block (types, both
 * length fields, padding, options, epb_flags), and the rules of capture.h
 * that put each event's comment on the packet that caused it, or on a
 * record of its own.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "pcapng.h"

#define MAX_BLOCKS 32
#define MAX_OPTS 8

struct opt {
    uint16_t code;
    const uint8_t *val;
    uint16_t len;
};

struct block {
    uint32_t type, total;
    const uint8_t *body; /* after type and length */
    size_t body_len;     /* up to the trailing length */
    /* EPB fields */
    uint32_t iface, incl, orig;
    uint64_t ts;
    const uint8_t *data;
    struct opt opt[MAX_OPTS];
    size_t nopt;
};

struct file {
    char path[64];
    uint8_t buf[65536];
    size_t len;
    struct block b[MAX_BLOCKS];
    size_t n;
};

static int file_setup(void **state)
{
    struct file *f = calloc(1, sizeof(*f));
    int fd;

    strcpy(f->path, "/tmp/drv_test_pcapng.XXXXXX");
    fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    *state = f;
    return 0;
}

static int file_teardown(void **state)
{
    struct file *f = *state;

    unlink(f->path);
    free(f);
    return 0;
}

static uint32_t u32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint16_t u16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

/* Options from p to end: each padded to 32 bits, ending with opt_endofopt exactly at end. */
static void parse_opts(struct block *b, const uint8_t *p, const uint8_t *end)
{
    b->nopt = 0;
    if (p == end)
        return; /* no options at all: allowed */
    for (;;) {
        assert_true(p + 4 <= end);
        uint16_t code = u16(p), len = u16(p + 2);
        if (code == PCAPNG_OPT_END) {
            assert_int_equal(len, 0);
            assert_ptr_equal(p + 4, end);
            return;
        }
        assert_true(b->nopt < MAX_OPTS);
        assert_true(p + 4 + ((len + 3u) & ~3u) <= end);
        for (uint16_t i = len; i < ((len + 3u) & ~3u); i++)
            assert_int_equal(p[4 + i], 0); /* padding is zeros */
        b->opt[b->nopt++] = (struct opt){code, p + 4, len};
        p += 4 + ((len + 3u) & ~3u);
    }
}

static void parse_epb(struct block *b)
{
    assert_true(b->body_len >= 20);
    b->iface = u32(b->body);
    b->ts = (uint64_t)u32(b->body + 4) << 32 | u32(b->body + 8);
    b->incl = u32(b->body + 12);
    b->orig = u32(b->body + 16);
    b->data = b->body + 20;
    assert_true(20 + ((b->incl + 3u) & ~3u) <= b->body_len);
    parse_opts(b, b->data + ((b->incl + 3u) & ~3u), b->body + b->body_len);
}

/* Reads the file and splits it into blocks, checking each one's framing. */
static void read_blocks(struct file *f)
{
    FILE *fp = fopen(f->path, "rb");
    size_t off = 0;

    assert_non_null(fp);
    f->len = fread(f->buf, 1, sizeof(f->buf), fp);
    fclose(fp);
    f->n = 0;
    while (off < f->len) {
        struct block *b = &f->b[f->n++];
        assert_true(f->n <= MAX_BLOCKS);
        assert_true(off + 12 <= f->len);
        b->type = u32(f->buf + off);
        b->total = u32(f->buf + off + 4);
        assert_int_equal(b->total % 4, 0);
        assert_true(b->total >= 12 && off + b->total <= f->len);
        assert_int_equal(u32(f->buf + off + b->total - 4), b->total); /* trailing length */
        b->body = f->buf + off + 8;
        b->body_len = b->total - 12;
        if (b->type == PCAPNG_BT_EPB)
            parse_epb(b);
        off += b->total;
    }
}

static const struct opt *find_opt(const struct block *b, uint16_t code, size_t nth)
{
    for (size_t i = 0; i < b->nopt; i++)
        if (b->opt[i].code == code && nth-- == 0)
            return &b->opt[i];
    return NULL;
}

static void assert_opt_str(const struct block *b, uint16_t code, size_t nth, const char *want)
{
    const struct opt *o = find_opt(b, code, nth);

    if (o == NULL)
        fail_msg("no option %u #%zu, want '%s'", code, nth, want);
    if (o->len != strlen(want) || memcmp(o->val, want, o->len) != 0)
        fail_msg("option %u #%zu is '%.*s', want '%s'", code, nth, (int)o->len, o->val, want);
}

static uint32_t epb_flags(const struct block *b)
{
    const struct opt *o = find_opt(b, PCAPNG_OPT_EPB_FLAGS, 0);

    if (o == NULL)
        return 0;
    assert_int_equal(o->len, 4);
    return u32(o->val);
}

/* ---- the writer ---- */

static void header_blocks_describe_two_interfaces(void **state)
{
    struct file *f = *state;
    struct pcapng_writer *w;

    assert_int_equal(tt_pcapng_open(&w, f->path, "tt0"), 0);
    read_blocks(f); /* written through at open */
    assert_int_equal(f->n, 3);
    assert_int_equal(f->b[0].type, PCAPNG_BT_SHB);
    assert_int_equal(u32(f->b[0].body), PCAPNG_BYTE_ORDER_MAGIC);
    assert_int_equal(u16(f->b[0].body + 4), 1); /* version 1.0 */
    assert_int_equal(u16(f->b[0].body + 6), 0);
    assert_int_equal(u32(f->b[0].body + 8), 0xffffffffu); /* section length unknown */
    assert_int_equal(u32(f->b[0].body + 12), 0xffffffffu);
    struct block shb = f->b[0];
    parse_opts(&shb, shb.body + 16, shb.body + shb.body_len);
    assert_opt_str(&shb, PCAPNG_OPT_SHB_USERAPPL, 0, "tuntcp " TT_VERSION_STRING);
    for (int i = 1; i <= 2; i++) {
        struct block idb = f->b[i];
        assert_int_equal(idb.type, PCAPNG_BT_IDB);
        assert_int_equal(u16(idb.body), i == 1 ? PCAPNG_LINKTYPE_RAW : PCAPNG_LINKTYPE_UPPER_PDU);
        assert_int_equal(u32(idb.body + 4), PCAPNG_SNAPLEN);
        parse_opts(&idb, idb.body + 8, idb.body + idb.body_len);
        assert_opt_str(&idb, PCAPNG_OPT_IF_NAME, 0, i == 1 ? "tt0" : "tuntcp-events");
    }
    assert_int_equal(tt_pcapng_count(w), 0);
    assert_int_equal(tt_pcapng_close(w), 0);
}

static void packets_carry_direction_comments_and_padding(void **state)
{
    struct file *f = *state;
    struct pcapng_writer *w;
    uint8_t pkt[41];
    const char *two[] = {"first note", "second, longer note"};

    for (size_t i = 0; i < sizeof(pkt); i++)
        pkt[i] = (uint8_t)(0x45 + i);
    assert_int_equal(tt_pcapng_open(&w, f->path, "tt0"), 0);
    tt_pcapng_packet(w, 0x123456789abcULL, PCAPNG_FLAG_INBOUND, pkt, 41, NULL, 0);
    tt_pcapng_packet(w, 0x123456789abdULL, PCAPNG_FLAG_OUTBOUND, pkt, 40, two, 2);
    tt_pcapng_packet(w, 0x123456789abeULL, 0, pkt, 20, NULL, 0);
    assert_int_equal(tt_pcapng_count(w), 3);
    assert_int_equal(tt_pcapng_close(w), 0);
    read_blocks(f);
    assert_int_equal(f->n, 6);
    const struct block *in = &f->b[3], *out = &f->b[4], *bare = &f->b[5];
    assert_int_equal(in->type, PCAPNG_BT_EPB);
    assert_int_equal(in->iface, PCAPNG_IF_TUN);
    assert_true(in->ts == 0x123456789abcULL); /* microseconds, the default if_tsresol */
    assert_int_equal(in->incl, 41);
    assert_int_equal(in->orig, 41);
    assert_memory_equal(in->data, pkt, 41);
    assert_int_equal(in->total, 12 + 20 + 44 + 8 + 4); /* data padded; flags; end */
    assert_int_equal(epb_flags(in), PCAPNG_FLAG_INBOUND);
    assert_null(find_opt(in, PCAPNG_OPT_COMMENT, 0));
    assert_int_equal(epb_flags(out), PCAPNG_FLAG_OUTBOUND);
    assert_opt_str(out, PCAPNG_OPT_COMMENT, 0, "first note");
    assert_opt_str(out, PCAPNG_OPT_COMMENT, 1, "second, longer note");
    assert_int_equal(bare->nopt, 0); /* neither flags nor comment: no options, no end marker */
    assert_int_equal(bare->total, 12 + 20 + 20);
}

static void an_event_is_a_syslog_pdu_with_its_text_as_comment(void **state)
{
    struct file *f = *state;
    struct pcapng_writer *w;
    const char *text = "10.7.0.2:7>10.7.0.1:5000 TIME_WAIT -> CLOSED: 2*MSL ran out";

    assert_int_equal(tt_pcapng_open(&w, f->path, "tt0"), 0);
    tt_pcapng_event(w, 1000001, text);
    assert_int_equal(tt_pcapng_close(w), 0);
    read_blocks(f);
    assert_int_equal(f->n, 4);
    const struct block *ev = &f->b[3];
    assert_int_equal(ev->iface, PCAPNG_IF_EVENTS);
    assert_true(ev->ts == 1000001);
    assert_int_equal(ev->incl, ev->orig);
    /* exported PDU: tag 12 (dissector name, big-endian), "syslog" padded, end tag, message */
    static const uint8_t tags[] = {0, 12, 0, 8, 's', 'y', 's', 'l', 'o', 'g', 0, 0, 0, 0, 0, 0};
    assert_memory_equal(ev->data, tags, sizeof(tags));
    assert_int_equal(ev->incl, sizeof(tags) + 4 + strlen(text));
    assert_memory_equal(ev->data + sizeof(tags), "<14>", 4);
    assert_memory_equal(ev->data + sizeof(tags) + 4, text, strlen(text));
    assert_opt_str(ev, PCAPNG_OPT_COMMENT, 0, text);
    assert_int_equal(epb_flags(ev), 0);
}

static void a_failed_open_says_why(void **state)
{
    struct pcapng_writer *w;

    (void)state;
    assert_int_equal(tt_pcapng_open(&w, "/nonexistent-dir/x.pcapng", "tt0"), -ENOENT);
}

/* ---- which record carries which comment (capture.h) ---- */

#define US 1000000ULL
#define STACK 0x0a070002u
#define PEER 0x0a070001u

/* A TCP segment of the connection 10.7.0.2:7 <-> 10.7.0.1:5000, headers only. */
static void segment(uint8_t *p, bool inbound, uint8_t flags)
{
    uint32_t src = inbound ? PEER : STACK, dst = inbound ? STACK : PEER;
    uint16_t sport = inbound ? 5000 : 7, dport = inbound ? 7 : 5000;

    memset(p, 0, 40);
    p[0] = 0x45;
    p[3] = 40;
    p[8] = 64;
    p[9] = 6;
    for (int i = 0; i < 4; i++) {
        p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    p[20] = (uint8_t)(sport >> 8), p[21] = (uint8_t)sport;
    p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
    p[32] = 0x50;
    p[33] = flags;
}

static tt_event_t state_ev(uint64_t now, tt_state_t from, tt_state_t to, tt_close_reason_t why)
{
    return (tt_event_t){.type = TT_EV_STATE,
                        .now_us = now,
                        .laddr = STACK,
                        .raddr = PEER,
                        .lport = 7,
                        .rport = 5000,
                        .from = from,
                        .to = to,
                        .why = why};
}

static struct capture *open_capture(struct file *f)
{
    static const char *const specs[] = {"drop:out:ack:state=TIME_WAIT:nth=1", "dup:in:fin"};
    struct capture_config cc = {
        .path = f->path,
        .ifname = "tt0",
        .note = {{10 * US, 1700000000 * US}, 1 * US, 60 * US},
        .fault_specs = specs,
        .fault_count = 2,
    };
    struct capture *c;

    assert_int_equal(tt_capture_open(&c, &cc), 0);
    return c;
}

static void events_go_on_the_packet_that_caused_them(void **state)
{
    struct file *f = *state;
    struct capture *c = open_capture(f);
    uint8_t syn[40], synack[40], data_in[40], data_out[40], fin_out[40], fin_in[40], ack[40];
    tt_event_t ev;

    segment(syn, true, 0x02);
    segment(synack, false, 0x12);
    segment(data_in, true, 0x18);
    segment(data_out, false, 0x18);
    segment(fin_out, false, 0x11);
    segment(fin_in, true, 0x11);
    segment(ack, false, 0x10);
    /* input call: a SYN; the change is told on it, not on our SYN-ACK */
    tt_capture_in(c, 11 * US, syn, 40);
    ev = state_ev(11 * US, TT_STATE_LISTEN, TT_STATE_SYN_RECEIVED, TT_WHY_NONE);
    tt_capture_event(c, &ev);
    tt_capture_out(c, 11 * US + 5, synack, 40);
    tt_capture_end_call(c);
    /* input call: data; the app closes from its read callback: the FIN carries it, not the echo */
    tt_capture_in(c, 12 * US, data_in, 40);
    ev = state_ev(12 * US, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_WHY_NONE);
    tt_capture_event(c, &ev);
    tt_capture_out(c, 12 * US + 5, data_out, 40);
    tt_capture_out(c, 12 * US + 6, fin_out, 40);
    tt_capture_end_call(c);
    /* input call: the peer's FIN; the final ACK, dropped by rule 1, tells TIME_WAIT */
    tt_capture_in(c, 13 * US, fin_in, 40);
    ev = state_ev(13 * US, TT_STATE_FIN_WAIT_1, TT_STATE_TIME_WAIT, TT_WHY_NONE);
    tt_capture_event(c, &ev);
    tt_capture_fault(c, 0, CAPNOTE_DROPPED, 0, 0);
    tt_capture_out(c, 13 * US + 5, ack, 40);
    tt_capture_end_call(c);
    /* timer call with no packet: TIME_WAIT expires on its own record */
    ev = state_ev(15 * US, TT_STATE_TIME_WAIT, TT_STATE_CLOSED, TT_WHY_TIMEWAIT_EXPIRED);
    tt_capture_event(c, &ev);
    tt_capture_end_call(c);
    assert_int_equal(tt_capture_count(c), 8);
    assert_int_equal(tt_capture_close(c), 0);

    read_blocks(f);
    assert_int_equal(f->n, 3 + 8);
    const struct block *r = &f->b[3];
    assert_int_equal(epb_flags(&r[0]), PCAPNG_FLAG_INBOUND);
    assert_opt_str(&r[0], PCAPNG_OPT_COMMENT, 0, "LISTEN -> SYN_RECEIVED: SYN received");
    assert_true(r[0].ts == 1700000001 * US); /* wall start + (11 s - 10 s) */
    assert_int_equal(epb_flags(&r[1]), PCAPNG_FLAG_OUTBOUND);
    assert_null(find_opt(&r[1], PCAPNG_OPT_COMMENT, 0));
    assert_null(find_opt(&r[2], PCAPNG_OPT_COMMENT, 0)); /* the data that made the app close */
    assert_null(find_opt(&r[3], PCAPNG_OPT_COMMENT, 0)); /* the echo */
    assert_opt_str(&r[4], PCAPNG_OPT_COMMENT, 0, "ESTABLISHED -> FIN_WAIT_1: close: FIN sent");
    assert_null(find_opt(&r[5], PCAPNG_OPT_COMMENT, 0)); /* the peer's FIN */
    assert_int_equal(epb_flags(&r[6]), PCAPNG_FLAG_OUTBOUND);
    assert_opt_str(&r[6], PCAPNG_OPT_COMMENT, 0,
                   "FIN_WAIT_1 -> TIME_WAIT: peer's FIN received, final ACK sent; "
                   "2*MSL ends at +2.000 s (22:13:25.000000)");
    assert_opt_str(&r[6], PCAPNG_OPT_COMMENT, 1,
                   "dropped by --fault[0] (drop:out:ack:state=TIME_WAIT:nth=1)");
    assert_int_equal(r[7].iface, PCAPNG_IF_EVENTS);
    assert_true(r[7].ts == 1700000005 * US);
    assert_opt_str(&r[7], PCAPNG_OPT_COMMENT, 0,
                   "10.7.0.2:7>10.7.0.1:5000 TIME_WAIT -> CLOSED: 2*MSL ran out "
                   "(timewait_expired)");
}

static void a_change_with_no_packet_of_its_own_falls_back(void **state)
{
    struct file *f = *state;
    struct capture *c = open_capture(f);
    uint8_t fin_in[40], other[40];
    tt_event_t ev;

    segment(fin_in, true, 0x11);
    segment(other, false, 0x10);
    other[23] = 99; /* another connection's packet: not ours to comment */
    /* the final ACK held by a delay fault: the FIN that caused TIME_WAIT tells it */
    tt_capture_in(c, 11 * US, fin_in, 40);
    tt_capture_fault(c, 1, CAPNOTE_COPY, 1, 0);
    ev = state_ev(11 * US, TT_STATE_FIN_WAIT_2, TT_STATE_TIME_WAIT, TT_WHY_NONE);
    tt_capture_event(c, &ev);
    tt_capture_end_call(c);
    /* a timer call whose only packet belongs to another connection */
    ev = state_ev(12 * US, TT_STATE_FIN_WAIT_2, TT_STATE_CLOSED, TT_WHY_FIN_TIMEOUT);
    tt_capture_event(c, &ev);
    tt_capture_out(c, 12 * US + 3, other, 40);
    tt_capture_end_call(c);
    /* an outbound note whose packet was never written is forgotten */
    tt_capture_fault(c, 0, CAPNOTE_DUPLICATED, 1, 0);
    tt_capture_forget_out_note(c);
    tt_capture_out(c, 13 * US, other, 40);
    tt_capture_end_call(c);
    assert_int_equal(tt_capture_close(c), 0);

    read_blocks(f);
    assert_int_equal(f->n, 3 + 4);
    const struct block *r = &f->b[3];
    assert_opt_str(&r[0], PCAPNG_OPT_COMMENT, 0,
                   "FIN_WAIT_2 -> TIME_WAIT: peer's FIN received, final ACK sent; "
                   "2*MSL ends at +2.000 s (22:13:23.000000)");
    assert_opt_str(&r[0], PCAPNG_OPT_COMMENT, 1, "copy made by --fault[1] (dup:in:fin)");
    assert_int_equal(epb_flags(&r[0]), PCAPNG_FLAG_INBOUND);
    assert_null(find_opt(&r[1], PCAPNG_OPT_COMMENT, 0));
    assert_int_equal(r[1].iface, PCAPNG_IF_TUN);
    assert_int_equal(r[2].iface, PCAPNG_IF_EVENTS);
    assert_true(r[2].ts == 1700000002 * US); /* at the event's own time, before the packet */
    assert_opt_str(&r[2], PCAPNG_OPT_COMMENT, 0,
                   "10.7.0.2:7>10.7.0.1:5000 FIN_WAIT_2 -> CLOSED: tcp_fin_timeout ran out "
                   "(fin_timeout)");
    assert_null(find_opt(&r[3], PCAPNG_OPT_COMMENT, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(header_blocks_describe_two_interfaces, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(packets_carry_direction_comments_and_padding, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(an_event_is_a_syslog_pdu_with_its_text_as_comment,
                                        file_setup, file_teardown),
        cmocka_unit_test(a_failed_open_says_why),
        cmocka_unit_test_setup_teardown(events_go_on_the_packet_that_caused_them, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(a_change_with_no_packet_of_its_own_falls_back, file_setup,
                                        file_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
