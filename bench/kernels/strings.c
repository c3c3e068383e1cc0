/*
 * strings: text processing over a generated English-like text (words built
 * from syllables, drawn with a skewed frequency, in capitalised sentences
 * with punctuation and line breaks). The text is split into words, which
 * are lower-cased and counted in a string-keyed hash table; the ten most
 * frequent words are selected; and several patterns are counted with a
 * Boyer-Moore-Horspool substring search.
 *
 * Exercises: byte loads and character-class branches, string hashing,
 * memcmp/memcpy of short strings, a skip table indexed by text bytes.
 */
#include "common.h"

/* ---- kernel ---- */

#define VOCAB 3000
#define MAX_WORD 24
#define TABLE_BITS 13 /* 8192 slots for at most VOCAB distinct words */

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- text generation ---- */

static char vocab[VOCAB][MAX_WORD + 1];

static void make_vocabulary(void)
{
    static const char consonants[] = "bcdfghjklmnprstvwz";
    static const char vowels[] = "aeiou";
    for (uint32_t w = 0; w < VOCAB; w++) {
        uint32_t syllables = 1 + rng_below(4);
        size_t len = 0;
        for (uint32_t s = 0; s < syllables; s++) {
            vocab[w][len++] = consonants[rng_below(sizeof consonants - 1)];
            vocab[w][len++] = vowels[rng_below(sizeof vowels - 1)];
            if (rng_below(3) == 0)
                vocab[w][len++] = consonants[rng_below(sizeof consonants - 1)];
        }
        vocab[w][len] = '\0';
    }
}

/* Appends str to text at *pos if it fits before cap; returns 0 when full. */
static int append(char *text, size_t cap, size_t *pos, const char *str, size_t len)
{
    if (*pos + len > cap)
        return 0;
    memcpy(text + *pos, str, len);
    *pos += len;
    return 1;
}

/* Fills text with up to cap bytes of sentences; returns the length used. */
static size_t make_text(char *text, size_t cap)
{
    size_t pos = 0;
    uint32_t sentence = 0;
    for (;;) {
        uint32_t words = 4 + rng_below(11);
        for (uint32_t i = 0; i < words; i++) {
            /* Skewed choice: small indices are much more frequent. */
            const char *w = vocab[rng_below(rng_below(VOCAB) + 1)];
            char buf[MAX_WORD + 3];
            size_t len = strlen(w);
            memcpy(buf, w, len);
            if (i == 0)
                buf[0] = (char)(buf[0] - 'a' + 'A');
            if (i + 1 < words)
                buf[len++] = rng_below(8) == 0 ? ',' : ' ';
            if (buf[len - 1] == ',')
                buf[len++] = ' ';
            if (!append(text, cap, &pos, buf, len))
                return pos;
        }
        static const char enders[] = ".!?.";
        char end[2] = {enders[rng_below(4)], ++sentence % 8 == 0 ? '\n' : ' '};
        if (!append(text, cap, &pos, end, 2))
            return pos;
    }
}

/* ---- word counting ---- */

struct entry {
    uint32_t hash;
    uint32_t offset; /* of the lower-cased word in the pool */
    uint32_t len;
    uint32_t count;
    uint32_t first; /* rank of first appearance */
};

struct counter {
    struct entry slots[1u << TABLE_BITS]; /* len == 0 marks an empty slot */
    uint32_t order[VOCAB];                /* slot indices by first appearance */
    uint32_t distinct;
    char pool[VOCAB * (MAX_WORD + 1)];
    uint32_t pool_used;
};

static uint32_t fnv1a(const char *s, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static void count_word(struct counter *c, const char *w, uint32_t len)
{
    uint32_t hash = fnv1a(w, len);
    uint32_t mask = (1u << TABLE_BITS) - 1;
    uint32_t i = hash & mask;
    for (;;) {
        struct entry *e = &c->slots[i];
        if (e->len == 0) {
            if (c->distinct == VOCAB || c->pool_used + len > sizeof c->pool) {
                fprintf(stderr, "strings: too many distinct words\n");
                exit(1);
            }
            e->hash = hash;
            e->len = len;
            e->offset = c->pool_used;
            e->count = 1;
            e->first = c->distinct;
            memcpy(c->pool + c->pool_used, w, len);
            c->pool_used += len;
            c->order[c->distinct++] = i;
            return;
        }
        if (e->hash == hash && e->len == len && memcmp(c->pool + e->offset, w, len) == 0) {
            e->count++;
            return;
        }
        i = (i + 1) & mask;
    }
}

/* Splits text into maximal runs of ASCII letters and counts them
 * lower-cased. Returns the number of words. */
static uint32_t count_words(struct counter *c, const char *text, size_t len)
{
    uint32_t words = 0;
    char word[MAX_WORD];
    uint32_t wlen = 0;
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? text[i] : ' ';
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch >= 'a' && ch <= 'z') {
            if (wlen < MAX_WORD)
                word[wlen++] = ch;
        } else if (wlen > 0) {
            count_word(c, word, wlen);
            words++;
            wlen = 0;
        }
    }
    return words;
}

/* ---- substring search ---- */

/* Number of (possibly overlapping) occurrences of pat in text. */
static uint32_t horspool_count(const char *text, size_t n, const char *pat, size_t m)
{
    size_t skip[256];
    for (int b = 0; b < 256; b++)
        skip[b] = m;
    for (size_t i = 0; i + 1 < m; i++)
        skip[(uint8_t)pat[i]] = m - 1 - i;

    uint32_t found = 0;
    size_t pos = 0;
    while (pos + m <= n) {
        uint8_t last = (uint8_t)text[pos + m - 1];
        if (last == (uint8_t)pat[m - 1] && memcmp(text + pos, pat, m - 1) == 0)
            found++;
        pos += skip[last];
    }
    return found;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    size_t text_len = quick ? (size_t)64 << 10 : (size_t)7 << 18;

    make_vocabulary();
    char *text = xmalloc(text_len);
    size_t len = make_text(text, text_len);

    struct counter *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t h = CHECKSUM_INIT;
    uint32_t words = count_words(c, text, len);
    h = mix(h, len);
    h = mix(h, words);
    h = mix(h, c->distinct);
    for (uint32_t k = 0; k < c->distinct; k++) {
        const struct entry *e = &c->slots[c->order[k]];
        h = mix(h, (uint64_t)e->hash << 32 | e->count);
    }

    /* The ten most frequent words (ties: earliest first appearance). */
    uint32_t taken[10];
    for (uint32_t k = 0; k < 10 && k < c->distinct; k++) {
        const struct entry *best = NULL;
        for (uint32_t j = 0; j < c->distinct; j++) {
            const struct entry *e = &c->slots[c->order[j]];
            int used = 0;
            for (uint32_t t = 0; t < k; t++)
                used |= taken[t] == e->first;
            if (!used && (!best || e->count > best->count))
                best = e;
        }
        taken[k] = best->first;
        h = mix(h, fnv1a(c->pool + best->offset, best->len));
        h = mix(h, best->count);
    }

    /* Patterns: frequent and rare words, with and without surrounding
     * spaces, and punctuation sequences across words. */
    char patterns[8][MAX_WORD + 3];
    strcpy(patterns[0], vocab[0]);
    sprintf(patterns[1], " %s ", vocab[1]);
    sprintf(patterns[2], " %s", vocab[VOCAB / 2]);
    strcpy(patterns[3], vocab[VOCAB - 1]);
    strcpy(patterns[4], ". ");
    strcpy(patterns[5], "?\n");
    sprintf(patterns[6], ", %s", vocab[2]);
    strcpy(patterns[7], "a");
    for (int p = 0; p < 8; p++)
        h = mix(h, horspool_count(text, len, patterns[p], strlen(patterns[p])));

    printf("checksum: %016llx\n", (unsigned long long)h);
    free(text);
    free(c);
    return 0;
}
