-- After a run: the books balance (debit-normal minus credit-normal is zero) and every posting
-- row agrees with its book.
SELECT count(*) AS entries FROM entries;
SELECT count(*) AS postings FROM postings;
SELECT sum(CASE WHEN kind IN ('asset', 'expense') THEN balance ELSE -balance END) AS imbalance
  FROM books;
SELECT count(*) AS books_off FROM books b
 WHERE b.balance <> (SELECT coalesce(sum(delta), 0) FROM postings p WHERE p.book_id = b.id);
