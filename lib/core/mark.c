/* mark.c: encode, decode and find durability-mark records (the layout is in
 * mark.h).  Decoding is strict, because ext4da-crash trusts a decoded record
 * as an oracle: anything encode() would not have written is rejected. */
#include <string.h>

#include "lib/core/crc32c.h"
#include "lib/core/endian.h"
#include "lib/core/mark.h"

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

const char *mark_status_text(enum mark_status s)
{
	switch (s) {
	case MARK_OK: return "valid";
	case MARK_NOT_A_RECORD: return "not a mark record";
	case MARK_BAD_CRC: return "bad crc";
	case MARK_BAD_VERSION: return "unknown version";
	case MARK_BAD_FIELD: return "a field is out of range";
	}
	return "?";
}

/* The crc covers the whole record with its own field taken as zero. */
static uint32_t record_crc(const uint8_t *p)
{
	static const uint8_t no_crc[4];
	uint32_t c = crc32c(~0U, p, MARK_OFF_CRC);

	c = crc32c(c, no_crc, sizeof(no_crc));
	c = crc32c(c, p + MARK_OFF_CRC + 4, MARK_RECORD_SIZE - MARK_OFF_CRC - 4);
	return c ^ ~0U;
}

/* --- validation shared by encode and decode --------------------------------- */

/* Names go into console logs and report lines: printable, no spaces. */
static int name_ok(const char *name, size_t field)
{
	size_t n = strnlen(name, field);

	if (n == 0 || n == field)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return 0;
	return 1;
}

int mark_name_valid(const char *name)
{
	return name_ok(name, MARK_NAME_FIELD);
}

static int path_ok(const char *path, size_t field)
{
	size_t n = strnlen(path, field);

	return n > 0 && n < field && path[0] == '/';
}

static int counts_ok(enum mark_kind kind, uint32_t nentries)
{
	if (kind == MARK_PLAIN)
		return nentries == 0;
	if (kind == MARK_DURABLE || kind == MARK_CLAIMS)
		return nentries >= 1 && nentries <= MARK_MAX_ENTRIES;
	return 0;
}

/* Kinds 1 and 2 are version 1 and carry only untyped (FILE) entries; kind
 * 3 is version 2 and needs an entry kind 2 could not carry.  So every
 * record has one encoding, and version 1 readers read every record that
 * version 1 can express. */
static uint32_t kind_version(enum mark_kind kind)
{
	return kind == MARK_CLAIMS ? MARK_VERSION_CLAIMS : MARK_VERSION;
}

static int types_ok(const struct mark_record *r)
{
	uint32_t typed = 0;

	for (uint32_t i = 0; i < r->nentries; i++)
		typed += r->entries[i].type != ME_FILE;
	return r->kind == MARK_CLAIMS ? typed > 0 : typed == 0;
}

const char *mark_entry_type_name(enum mark_entry_type t)
{
	switch (t) {
	case ME_FILE: return "durable";
	case ME_FILE_EXACT: return "synced";
	case ME_NAME: return "name";
	case ME_NO_NAME: return "absent";
	case ME_RELEASE: return "release";
	case ME_NTYPES: break;
	}
	return "?";
}

/* Fields a type does not use must be zero, so that a record has one
 * encoding and decode() can insist on it. */
static int entry_fields_ok(const struct mark_entry *m)
{
	switch (m->type) {
	case ME_FILE:
	case ME_FILE_EXACT: return 1;
	case ME_NAME: return m->crc == 0 && m->size == 0;
	case ME_NO_NAME: return m->ino == 0 && m->gen == 0 && m->crc == 0 && m->size == 0;
	case ME_RELEASE: return m->gen == 0 && m->crc == 0 && m->size == 0;
	case ME_NTYPES: break;
	}
	return 0;
}


/* NUL padding after a string: what strncpy-style encoding leaves. */
static int padded(const uint8_t *field, size_t len)
{
	size_t n = strnlen((const char *)field, len);

	return n < len && all_zero(field + n, len - n);
}

/* --- encode ----------------------------------------------------------------- */

static void encode_entry(const struct mark_entry *m, uint8_t *p)
{
	le64_put(p + MARK_ENTRY_OFF_INO, m->ino);
	le32_put(p + MARK_ENTRY_OFF_GEN, m->gen);
	le32_put(p + MARK_ENTRY_OFF_CRC, m->crc);
	le64_put(p + MARK_ENTRY_OFF_SIZE, m->size);
	le32_put(p + MARK_ENTRY_OFF_TYPE, m->type);
	memcpy(p + MARK_ENTRY_OFF_PATH, m->path, strlen(m->path));
}

enum mark_status mark_record_encode(const struct mark_record *r, void *buf)
{
	uint8_t *p = buf;

	if (r->seq == 0 || !counts_ok(r->kind, r->nentries) || !types_ok(r) ||
	    !name_ok(r->name, MARK_NAME_FIELD))
		return MARK_BAD_FIELD;
	for (uint32_t i = 0; i < r->nentries; i++)
		if (!path_ok(r->entries[i].path, MARK_PATH_FIELD) || !entry_fields_ok(&r->entries[i]))
			return MARK_BAD_FIELD;
	memset(p, 0, MARK_RECORD_SIZE);
	memcpy(p + MARK_OFF_MAGIC, MARK_MAGIC, 8);
	le32_put(p + MARK_OFF_VERSION, kind_version(r->kind));
	le64_put(p + MARK_OFF_SEQ, r->seq);
	le32_put(p + MARK_OFF_KIND, r->kind);
	le32_put(p + MARK_OFF_NENTRIES, r->nentries);
	le64_put(p + MARK_OFF_TIME, r->time_ns);
	memcpy(p + MARK_OFF_NAME, r->name, strlen(r->name));
	for (uint32_t i = 0; i < r->nentries; i++)
		encode_entry(&r->entries[i], p + MARK_OFF_ENTRIES + i * MARK_ENTRY_SIZE);
	le32_put(p + MARK_OFF_CRC, record_crc(p));
	return MARK_OK;
}

/* --- decode ----------------------------------------------------------------- */

/* Version 1 has no type field: its bytes are reserved, zero, type 0. */
static int decode_entry(const uint8_t *p, uint32_t version, struct mark_entry *m)
{
	const uint8_t *path = p + MARK_ENTRY_OFF_PATH;
	uint32_t type = le32_get(p + MARK_ENTRY_OFF_TYPE);

	if ((version < MARK_VERSION_CLAIMS && type != ME_FILE) || type >= ME_NTYPES ||
	    !all_zero(p + MARK_ENTRY_OFF_RESERVED2, MARK_ENTRY_OFF_PATH - MARK_ENTRY_OFF_RESERVED2) ||
	    !padded(path, MARK_PATH_FIELD))
		return -1;
	memset(m, 0, sizeof(*m));
	m->type = (enum mark_entry_type)type;
	m->ino = le64_get(p + MARK_ENTRY_OFF_INO);
	m->gen = le32_get(p + MARK_ENTRY_OFF_GEN);
	m->crc = le32_get(p + MARK_ENTRY_OFF_CRC);
	m->size = le64_get(p + MARK_ENTRY_OFF_SIZE);
	memcpy(m->path, path, MARK_PATH_FIELD);
	return path_ok(m->path, MARK_PATH_FIELD) && entry_fields_ok(m) ? 0 : -1;
}

static enum mark_status decode_fields(const uint8_t *p, struct mark_record *r)
{
	const uint8_t *unused;

	r->seq = le64_get(p + MARK_OFF_SEQ);
	r->kind = (enum mark_kind)le32_get(p + MARK_OFF_KIND);
	r->nentries = le32_get(p + MARK_OFF_NENTRIES);
	r->time_ns = le64_get(p + MARK_OFF_TIME);
	if (r->seq == 0 || !counts_ok(r->kind, r->nentries) ||
	    (r->kind == MARK_CLAIMS && r->version != MARK_VERSION_CLAIMS))
		return MARK_BAD_FIELD;
	if (!padded(p + MARK_OFF_NAME, MARK_NAME_FIELD) ||
	    !all_zero(p + MARK_OFF_RESERVED, MARK_OFF_ENTRIES - MARK_OFF_RESERVED))
		return MARK_BAD_FIELD;
	memcpy(r->name, p + MARK_OFF_NAME, MARK_NAME_FIELD);
	if (!name_ok(r->name, MARK_NAME_FIELD))
		return MARK_BAD_FIELD;
	for (uint32_t i = 0; i < r->nentries; i++)
		if (decode_entry(p + MARK_OFF_ENTRIES + i * MARK_ENTRY_SIZE, r->version, &r->entries[i]))
			return MARK_BAD_FIELD;
	unused = p + MARK_OFF_ENTRIES + r->nentries * MARK_ENTRY_SIZE;
	if (!all_zero(unused, (size_t)(p + MARK_RECORD_SIZE - unused)))
		return MARK_BAD_FIELD;
	return types_ok(r) ? MARK_OK : MARK_BAD_FIELD;
}

enum mark_status mark_record_decode(const void *buf, struct mark_record *r)
{
	const uint8_t *p = buf;

	memset(r, 0, sizeof(*r));
	if (memcmp(p + MARK_OFF_MAGIC, MARK_MAGIC, 8) != 0)
		return MARK_NOT_A_RECORD;
	if (le32_get(p + MARK_OFF_CRC) != record_crc(p))
		return MARK_BAD_CRC;
	r->version = le32_get(p + MARK_OFF_VERSION);
	/* Version 2 exists for kind 3 only. */
	if (r->version != MARK_VERSION &&
	    (r->version != MARK_VERSION_CLAIMS || le32_get(p + MARK_OFF_KIND) != MARK_CLAIMS))
		return MARK_BAD_VERSION;
	return decode_fields(p, r);
}

/* --- the area ----------------------------------------------------------------- */

int mark_area_locate(uint64_t device_bytes, struct mark_area *a)
{
	if (device_bytes < MARK_MIN_DEVICE)
		return -1;
	a->end = device_bytes / MARK_RECORD_SIZE * MARK_RECORD_SIZE;
	a->start = a->end - MARK_AREA_SIZE;
	return 0;
}

int mark_area_overlaps(const struct mark_area *a, uint64_t offset, uint64_t len)
{
	return len > 0 && offset < a->end && offset + len > a->start;
}

/* The first slot boundary at or after offset, as a slot number (may be
 * MARK_SLOTS or more: past the area). */
static uint64_t first_whole_slot(const struct mark_area *a, uint64_t offset)
{
	if (offset <= a->start)
		return 0;
	return (offset - a->start + MARK_RECORD_SIZE - 1) / MARK_RECORD_SIZE;
}

int mark_scan_write(const struct mark_area *a, uint64_t offset, const void *data, size_t len,
		    mark_visit_fn visit, void *ctx)
{
	const uint8_t *p = data;
	struct mark_record r;
	int found = 0;

	if (!mark_area_overlaps(a, offset, len))
		return 0;
	for (uint64_t slot = first_whole_slot(a, offset); slot < MARK_SLOTS; slot++) {
		uint64_t at = mark_slot_offset(a, (uint32_t)slot);
		int rc;

		if (at + MARK_RECORD_SIZE > offset + len)
			break;
		if (mark_record_decode(p + (at - offset), &r) != MARK_OK ||
		    mark_slot_of(r.seq) != slot)
			continue;
		rc = visit(ctx, (uint32_t)slot, &r);
		if (rc < 0)
			return rc;
		found++;
	}
	return found;
}
