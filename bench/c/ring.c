/*
 * C reference for the signal-queue benchmark (`npm run bench`).
 *
 * The visorchannel ring of protocol reference §2.3, written from the rules there, on the
 * same memory layout the TypeScript benchmark builds with writeChannelHeader /
 * writeQueueHeader: a 128-byte channel header, one packed 128-byte signal_queue_header at
 * ch_space_offset 128, and the slot array sig_base_offset = 128 bytes after the queue
 * header. Each operation reads the whole queue header (one memcpy), bounds-checks every
 * access against the channel size, copies signal_size bytes, issues a full barrier and
 * then publishes head/num_sent (insert) or tail/num_received (remove).
 *
 * Two variants are timed: with only a compiler barrier (what a single-threaded emulator
 * needs: the reference) and with the full barrier the kernel issues (mb(), shown beside it).
 *
 * usage: ring.bin SIGNAL_SIZE [SLOTS] [MIN_SECONDS] [ROUNDS]
 * prints one JSON object per variant on stdout.
 */
#define _POSIX_C_SOURCE 199309L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct channel_header {
	uint64_t signature;
	uint32_t legacy_state;
	uint32_t header_size;
	uint64_t size;
	uint64_t features;
	uint8_t chtype[16];
	uint64_t partition_handle;
	uint64_t handle;
	uint64_t ch_space_offset;
	uint32_t version_id;
	uint32_t partition_index;
	uint8_t zone_guid[16];
	uint32_t cli_str_offset;
	uint32_t cli_state_boot;
	uint32_t cmd_state_cli;
	uint32_t cli_state_os;
	uint32_t ch_characteristic;
	uint32_t cmd_state_srv;
	uint32_t srv_state;
	uint8_t cli_error_boot;
	uint8_t cli_error_os;
	uint8_t filler[1];
	uint8_t recover_channel;
} __attribute__((packed));

struct signal_queue_header {
	uint32_t version;
	uint32_t chtype;
	uint64_t size;
	uint64_t sig_base_offset;
	uint64_t features;
	uint64_t num_sent;
	uint64_t num_overflows;
	uint32_t signal_size;
	uint32_t max_slots;
	uint32_t max_signals;
	uint32_t head;
	uint64_t num_received;
	uint32_t tail;
	uint32_t reserved1;
	uint64_t reserved2;
	uint64_t client_queue;
	uint64_t num_irq_received;
	uint64_t num_empty;
	uint32_t errorflags;
	uint8_t filler[12];
} __attribute__((packed));

_Static_assert(sizeof(struct channel_header) == 128, "channel_header is 128 bytes");
_Static_assert(sizeof(struct signal_queue_header) == 128, "signal_queue_header is 128 bytes");
_Static_assert(__builtin_offsetof(struct signal_queue_header, head) == 60, "head at 60");
_Static_assert(__builtin_offsetof(struct signal_queue_header, tail) == 72, "tail at 72");

/* The guest's view of one channel: its memory and the header snapshot taken at creation. */
struct channel {
	uint8_t *mem;
	uint64_t nbytes;
	struct channel_header cached;
};

static int chan_read(const struct channel *ch, uint64_t off, void *dst, uint64_t n)
{
	if (off + n > ch->nbytes)
		return -EIO;
	memcpy(dst, ch->mem + off, n);
	return 0;
}

static int chan_write(struct channel *ch, uint64_t off, const void *src, uint64_t n)
{
	if (off + n > ch->nbytes)
		return -EIO;
	if (off < sizeof(ch->cached)) {
		uint64_t k = n < sizeof(ch->cached) - off ? n : sizeof(ch->cached) - off;
		memcpy((uint8_t *)&ch->cached + off, src, k);
	}
	memcpy(ch->mem + off, src, n);
	return 0;
}

#define QH_OFFSET(ch, q) ((int)((ch)->cached.ch_space_offset + (q) * sizeof(struct signal_queue_header)))
#define SLOT_OFFSET(ch, q, h, s) ((int)(QH_OFFSET(ch, q) + (h)->sig_base_offset + (uint64_t)(s) * (h)->signal_size))

#define FULL_BARRIER() __sync_synchronize()
#define COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

#define DEFINE_RING(suffix, BARRIER)                                                              \
	__attribute__((noinline)) int signalinsert_##suffix(struct channel *ch, uint32_t q, const void *msg) \
	{                                                                                         \
		struct signal_queue_header h;                                                     \
		int qoff, soff, err;                                                              \
		if (ch->cached.ch_space_offset < sizeof(struct channel_header))                   \
			return -EINVAL;                                                           \
		qoff = QH_OFFSET(ch, q);                                                          \
		if (qoff < 0 || chan_read(ch, qoff, &h, sizeof(h)))                               \
			return -EIO;                                                              \
		h.head = (h.head + 1) % h.max_slots;                                              \
		if (h.head == h.tail) {                                                           \
			h.num_overflows++;                                                        \
			chan_write(ch, qoff + __builtin_offsetof(struct signal_queue_header, num_overflows), \
				   &h.num_overflows, sizeof(h.num_overflows));                    \
			return -EIO;                                                              \
		}                                                                                 \
		soff = SLOT_OFFSET(ch, q, &h, h.head);                                            \
		if (soff < 0 || (err = chan_write(ch, soff, msg, h.signal_size)))                 \
			return -EIO;                                                              \
		h.num_sent++;                                                                     \
		BARRIER();                                                                        \
		if ((err = chan_write(ch, qoff + __builtin_offsetof(struct signal_queue_header, head), \
				      &h.head, sizeof(h.head))))                                  \
			return err;                                                               \
		return chan_write(ch, qoff + __builtin_offsetof(struct signal_queue_header, num_sent), \
				  &h.num_sent, sizeof(h.num_sent));                               \
	}                                                                                         \
	__attribute__((noinline)) int signalremove_##suffix(struct channel *ch, uint32_t q, void *msg) \
	{                                                                                         \
		struct signal_queue_header h;                                                     \
		int qoff, soff, err;                                                              \
		if (ch->cached.ch_space_offset < sizeof(struct channel_header))                   \
			return -EINVAL;                                                           \
		qoff = QH_OFFSET(ch, q);                                                          \
		if (qoff < 0 || chan_read(ch, qoff, &h, sizeof(h)))                               \
			return -EIO;                                                              \
		if (h.head == h.tail)                                                             \
			return -EAGAIN;                                                           \
		h.tail = (h.tail + 1) % h.max_slots;                                              \
		soff = SLOT_OFFSET(ch, q, &h, h.tail);                                            \
		if (soff < 0 || (err = chan_read(ch, soff, msg, h.signal_size)))                  \
			return -EIO;                                                              \
		h.num_received++;                                                                 \
		BARRIER();                                                                        \
		if ((err = chan_write(ch, qoff + __builtin_offsetof(struct signal_queue_header, tail), \
				      &h.tail, sizeof(h.tail))))                                  \
			return err;                                                               \
		return chan_write(ch, qoff + __builtin_offsetof(struct signal_queue_header, num_received), \
				  &h.num_received, sizeof(h.num_received));                       \
	}

DEFINE_RING(mb, FULL_BARRIER)
DEFINE_RING(nomb, COMPILER_BARRIER)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef int (*insert_fn)(struct channel *, uint32_t, const void *);
typedef int (*remove_fn)(struct channel *, uint32_t, void *);

/* Fresh channel laid out like channelinit.ts: header, queue header at 128, slots at 256. */
static void layout(struct channel *ch, uint32_t signal_size, uint32_t slots)
{
	uint64_t size = 256 + (uint64_t)slots * signal_size;
	size = (size + 4095) & ~(uint64_t)4095;
	ch->mem = aligned_alloc(4096, size);
	if (!ch->mem) {
		perror("aligned_alloc");
		exit(2);
	}
	memset(ch->mem, 0, size);
	struct channel_header *hdr = (struct channel_header *)ch->mem;
	hdr->signature = 0x4C4E4345;
	hdr->header_size = 128;
	hdr->size = size;
	hdr->ch_space_offset = 128;
	hdr->version_id = 1;
	struct signal_queue_header *q = (struct signal_queue_header *)(ch->mem + 128);
	q->size = (uint64_t)slots * signal_size;
	q->sig_base_offset = 128;
	q->signal_size = signal_size;
	q->max_slots = slots;
	q->max_signals = slots - 1;
	ch->nbytes = size;
	memcpy(&ch->cached, ch->mem, sizeof(ch->cached));
}

static uint64_t run(struct channel *ch, insert_fn ins, remove_fn rem, uint8_t *msg, uint8_t *out, uint64_t pairs)
{
	uint64_t sum = 0;
	for (uint64_t i = 0; i < pairs; i++) {
		msg[0] = (uint8_t)i;
		if (ins(ch, 0, msg) != 0 || rem(ch, 0, out) != 0) {
			fprintf(stderr, "ring error at pair %llu\n", (unsigned long long)i);
			exit(3);
		}
		sum += out[0];
	}
	return sum;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void measure(const char *variant, insert_fn ins, remove_fn rem, uint32_t signal_size, uint32_t slots,
		    double min_seconds, int rounds)
{
	struct channel ch;
	layout(&ch, signal_size, slots);
	uint8_t *msg = calloc(1, signal_size), *out = calloc(1, signal_size);
	volatile uint64_t sink = 0;
	/* calibrate: double the batch until one batch takes min_seconds / 4 */
	uint64_t batch = 1024;
	for (;;) {
		double t0 = now();
		sink += run(&ch, ins, rem, msg, out, batch);
		if (now() - t0 >= min_seconds / 4 || batch > (1ull << 34))
			break;
		batch *= 2;
	}
	double rates[64];
	if (rounds > 64)
		rounds = 64;
	for (int r = 0; r < rounds; r++) {
		uint64_t n = 0;
		double t0 = now(), t;
		do {
			sink += run(&ch, ins, rem, msg, out, batch);
			n += batch;
			t = now() - t0;
		} while (t < min_seconds);
		rates[r] = n / t;
	}
	double sorted[64];
	memcpy(sorted, rates, sizeof(double) * rounds);
	qsort(sorted, rounds, sizeof(double), cmp_double);
	struct signal_queue_header *q = (struct signal_queue_header *)(ch.mem + 128);
	printf("{\"variant\":\"%s\",\"signalSize\":%u,\"slots\":%u,\"pairsPerSec\":%.1f,\"rounds\":[",
	       variant, signal_size, slots, sorted[rounds / 2]);
	for (int r = 0; r < rounds; r++)
		printf("%s%.1f", r ? "," : "", rates[r]);
	printf("],\"numSent\":%llu,\"numReceived\":%llu,\"head\":%u,\"tail\":%u,\"sink\":%llu}\n",
	       (unsigned long long)q->num_sent, (unsigned long long)q->num_received, q->head, q->tail,
	       (unsigned long long)sink);
	free(msg);
	free(out);
	free(ch.mem);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SIGNAL_SIZE [SLOTS] [MIN_SECONDS] [ROUNDS]\n", argv[0]);
		return 1;
	}
	uint32_t signal_size = (uint32_t)strtoul(argv[1], NULL, 0);
	uint32_t slots = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 64;
	double min_seconds = argc > 3 ? atof(argv[3]) : 0.3;
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	if (signal_size == 0 || slots < 2) {
		fprintf(stderr, "bad signal size or slot count\n");
		return 1;
	}
	/* self-check of the ring rules before timing: first signal in slot 1, full at max_slots-1 */
	{
		struct channel ch;
		layout(&ch, signal_size, slots);
		uint8_t *m = calloc(1, signal_size);
		struct signal_queue_header *q = (struct signal_queue_header *)(ch.mem + 128);
		if (signalinsert_mb(&ch, 0, m) != 0 || q->head != 1) {
			fprintf(stderr, "self-check: first signal not in slot 1\n");
			return 4;
		}
		for (uint32_t i = 1; i < slots - 1; i++)
			signalinsert_mb(&ch, 0, m);
		if (signalinsert_mb(&ch, 0, m) != -EIO || q->num_overflows != 1 || q->num_sent != slots - 1) {
			fprintf(stderr, "self-check: full/overflow rule broken\n");
			return 4;
		}
		for (uint32_t i = 0; i < slots - 1; i++)
			signalremove_mb(&ch, 0, m);
		if (signalremove_mb(&ch, 0, m) != -EAGAIN || q->num_received != slots - 1) {
			fprintf(stderr, "self-check: empty rule broken\n");
			return 4;
		}
		free(m);
		free(ch.mem);
	}
	measure("mb", signalinsert_mb, signalremove_mb, signal_size, slots, min_seconds, rounds);
	measure("nomb", signalinsert_nomb, signalremove_nomb, signal_size, slots, min_seconds, rounds);
	return 0;
}
