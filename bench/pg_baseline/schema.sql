-- A double-entry schema for the PostgreSQL baseline of SPEC section 6 (bench/pg_baseline/README.md).
-- It mirrors tally's store: an entry per event with a unique client id, one posting row per
-- posting keyed by (book, entry, index) with the running balance after it, and a book row per
-- (account, currency) holding the current balance, all written in the event's transaction.
-- Amounts are bigint minor units (tally uses 128-bit integers; bigint only makes PostgreSQL faster).

CREATE TABLE books (
  id        bigserial PRIMARY KEY,
  account   text     NOT NULL,
  currency  text     NOT NULL,
  kind      text     NOT NULL,
  balance   bigint   NOT NULL DEFAULT 0,
  postings  bigint   NOT NULL DEFAULT 0,
  last_entry bigint,
  UNIQUE (account, currency)
);

CREATE TABLE entries (
  id         bigserial   PRIMARY KEY,
  ext_id     text        NOT NULL UNIQUE,   -- idempotency: the client's id
  at         timestamptz NOT NULL,
  kind       text        NOT NULL,
  committed  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE postings (
  book_id       bigint NOT NULL REFERENCES books (id),
  entry_id      bigint NOT NULL REFERENCES entries (id),
  idx           smallint NOT NULL,
  delta         bigint NOT NULL,             -- change of the normal-side balance
  balance_after bigint NOT NULL,
  at            timestamptz NOT NULL,
  PRIMARY KEY (book_id, entry_id, idx)      -- as tally's postings key: balance as of = one seek
);
CREATE INDEX postings_entry ON postings (entry_id);

CREATE SEQUENCE sale_seq;

-- Round n/d half to even, for d > 0 (exact integer arithmetic).
CREATE FUNCTION div_half_even(n bigint, d bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE q bigint := n / d; r bigint := n % d;
BEGIN
  IF r < 0 THEN q := q - 1; r := r + d; END IF;
  IF 2 * r > d OR (2 * r = d AND q % 2 <> 0) THEN q := q + 1; END IF;
  RETURN q;
END $$;

-- One posting: the book's balance moves, the posting row records the running balance.
CREATE FUNCTION post(acct text, eid bigint, i smallint, delta bigint, ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE b bigint; bal bigint;
BEGIN
  UPDATE books SET balance = balance + delta, postings = postings + 1, last_entry = eid
   WHERE account = acct AND currency = 'EUR' RETURNING id, balance INTO b, bal;
  IF b IS NULL THEN RAISE EXCEPTION 'unknown account %', acct; END IF;
  INSERT INTO postings VALUES (b, eid, i, delta, bal, ts);
END $$;

-- Posts n sales in the caller's transaction: the same sales as tally's BM_SalesVsRawLmdb
-- (10000 sellers, 1000 affiliates, 10% commission, 7% affiliate share out of it, 2.9% + 0.25 fee
-- borne by the seller, half-even rounding): 6 postings each, debits equal credits.
CREATE FUNCTION post_sales(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE i bigint; a bigint; c bigint; af bigint; f bigint; eid bigint;
        ts timestamptz := '2026-01-05 10:00:00+00'; seller text; aff text;
BEGIN
  FOR k IN 1..n LOOP
    i := nextval('sale_seq');
    a := 1000 + (i * 7919) % 49000;
    c := div_half_even(a * 10, 100);
    af := div_half_even(a * 7, 100);
    f := div_half_even(a * 29, 1000) + 25;
    seller := 'shop:payees:s' || (i % 10000) || ':pending';
    aff := 'shop:payees:a' || ((i * 31) % 1000) || ':pending';
    INSERT INTO entries (ext_id, at, kind) VALUES ('o' || i, ts, 'sale') RETURNING id INTO eid;
    PERFORM post('shop:cash', eid, 0::smallint, a - f, ts);
    PERFORM post('shop:expense:bank_fees', eid, 1::smallint, f, ts);
    PERFORM post(seller, eid, 2::smallint, a - c - f, ts);
    PERFORM post('shop:revenue:fee_recharge', eid, 3::smallint, f, ts);
    PERFORM post('shop:revenue:commission', eid, 4::smallint, c - af, ts);
    PERFORM post(aff, eid, 5::smallint, af, ts);
  END LOOP;
END $$;

-- The same sales, set-based: one statement per batch of n, each book's balance updated once per
-- batch with the sum of its postings, running balances from a window sum. What a PostgreSQL
-- engineer would write for batches; correct with one writer at a time (as tally's one writer).
CREATE FUNCTION post_sales_set(n int) RETURNS void LANGUAGE sql AS $$
WITH s AS (
  SELECT i, eid, a, div_half_even(a * 10, 100) AS c, div_half_even(a * 7, 100) AS af,
         div_half_even(a * 29, 1000) + 25 AS f
    FROM (SELECT i, nextval('entries_id_seq') AS eid, 1000 + (i * 7919) % 49000 AS a
            FROM (SELECT nextval('sale_seq') AS i FROM generate_series(1, n)) g) x
), e AS (
  INSERT INTO entries (id, ext_id, at, kind)
  SELECT eid, 'o' || i, '2026-01-05 10:00:00+00', 'sale' FROM s
), p AS (
  SELECT s.eid AS entry_id, v.idx, v.account, v.delta
    FROM s CROSS JOIN LATERAL (VALUES
      (0::smallint, 'shop:cash', s.a - s.f),
      (1::smallint, 'shop:expense:bank_fees', s.f),
      (2::smallint, 'shop:payees:s' || (s.i % 10000) || ':pending', s.a - s.c - s.f),
      (3::smallint, 'shop:revenue:fee_recharge', s.f),
      (4::smallint, 'shop:revenue:commission', s.c - s.af),
      (5::smallint, 'shop:payees:a' || ((s.i * 31) % 1000) || ':pending', s.af)) v(idx, account, delta)
), pb AS (
  SELECT p.entry_id, p.idx, p.delta, b.id AS book_id,
         b.balance + sum(p.delta) OVER (PARTITION BY b.id ORDER BY p.entry_id, p.idx) AS balance_after
    FROM p JOIN books b ON b.account = p.account AND b.currency = 'EUR'
), ins AS (
  INSERT INTO postings
  SELECT book_id, entry_id, idx, delta, balance_after, '2026-01-05 10:00:00+00' FROM pb
)
UPDATE books b SET balance = b.balance + agg.d, postings = b.postings + agg.cnt, last_entry = agg.last
  FROM (SELECT book_id, sum(delta) AS d, count(*) AS cnt, max(entry_id) AS last
          FROM pb GROUP BY book_id) agg
 WHERE b.id = agg.book_id;
$$;

INSERT INTO books (account, currency, kind) VALUES
  ('shop:cash', 'EUR', 'asset'), ('shop:expense:bank_fees', 'EUR', 'expense'),
  ('shop:revenue:fee_recharge', 'EUR', 'revenue'), ('shop:revenue:commission', 'EUR', 'revenue');
INSERT INTO books (account, currency, kind)
  SELECT 'shop:payees:s' || g || ':pending', 'EUR', 'liability' FROM generate_series(0, 9999) g;
INSERT INTO books (account, currency, kind)
  SELECT 'shop:payees:a' || g || ':pending', 'EUR', 'liability' FROM generate_series(0, 999) g;
