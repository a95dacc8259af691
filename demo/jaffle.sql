-- demo/jaffle.sql -- a small jaffle-shop-shaped dataset for sandbox's demo.
--
--     psql -v ON_ERROR_STOP=1 -f demo/jaffle.sql
--
-- Schema "shop": customers, their orders, and the payments of those orders,
-- with primary keys, foreign keys, CHECK constraints and indexes, about
-- 500 customers, 2,000 orders and 2,400 payments.  The shape follows dbt's
-- jaffle_shop example; the rows are ours and made up: names come from short
-- lists, everything else from random() under a fixed setseed(), so every
-- load gives the same rows.  The tables are analyzed at the end, so that
-- sandbox_synthesize() finds statistics to follow.

BEGIN;

CREATE SCHEMA shop;

CREATE TABLE shop.customers (
	id integer PRIMARY KEY,
	first_name text NOT NULL,
	last_name text NOT NULL,
	email text NOT NULL UNIQUE,
	country text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE shop.orders (
	id integer PRIMARY KEY,
	customer_id integer NOT NULL REFERENCES shop.customers,
	order_date date NOT NULL,
	status text NOT NULL
		CHECK (status IN ('placed', 'shipped', 'completed', 'return_pending', 'returned'))
);
CREATE INDEX orders_customer_id_idx ON shop.orders (customer_id);

CREATE TABLE shop.payments (
	id integer PRIMARY KEY,
	order_id integer NOT NULL REFERENCES shop.orders ON DELETE CASCADE,
	payment_method text NOT NULL
		CHECK (payment_method IN ('credit_card', 'coupon', 'bank_transfer', 'gift_card')),
	amount numeric(10, 2) NOT NULL CHECK (amount >= 0)
);
CREATE INDEX payments_order_id_idx ON shop.payments (order_id);

SELECT setseed(0.42) AS seed \gset

-- 500 customers: a first and a last name from the lists, a country by weight
INSERT INTO shop.customers (id, first_name, last_name, email, country, created_at)
SELECT g, f, l,
       lower(f) || '.' || lower(l) || g || '@example.com',
       CASE WHEN c < 0.45 THEN 'US' WHEN c < 0.65 THEN 'GB' WHEN c < 0.80 THEN 'DE'
            WHEN c < 0.90 THEN 'FR' ELSE 'NL' END,
       timestamptz '2023-01-01 00:00:00+00' + t * interval '365 days'
  FROM (SELECT g,
               (ARRAY['Michael', 'Shawn', 'Kathleen', 'Jimmy', 'Katherine', 'Sarah', 'Martin', 'Frank',
                      'Jennifer', 'Henry', 'Fred', 'Amy', 'Kathleen', 'Steve', 'Teresa', 'Amanda',
                      'Kimberly', 'Johnny', 'Virginia', 'Anna', 'Willie', 'Sean', 'Emily', 'Jose',
                      'Christina', 'Lillian', 'Nancy', 'Carl', 'Ruth', 'Jane'])[1 + floor(random() * 30)::int] AS f,
               (ARRAY['P.', 'M.', 'R.', 'C.', 'H.', 'G.', 'S.', 'W.', 'F.', 'T.',
                      'B.', 'D.', 'J.', 'K.', 'L.', 'N.', 'O.', 'A.', 'E.', 'V.'])[1 + floor(random() * 20)::int] AS l,
               random() AS c,
               random() AS t
          FROM generate_series(1, 500) AS g) x;

-- 2,000 orders: a few customers order often, most rarely
INSERT INTO shop.orders (id, customer_id, order_date, status)
SELECT g,
       1 + floor(random() * random() * 500)::int,
       date '2024-01-01' + floor(random() * 366)::int,
       CASE WHEN s < 0.60 THEN 'completed' WHEN s < 0.75 THEN 'shipped' WHEN s < 0.85 THEN 'placed'
            WHEN s < 0.90 THEN 'return_pending' ELSE 'returned' END
  FROM (SELECT g, random() AS s FROM generate_series(1, 2000) AS g) x;

-- one payment per order, and for about one in five a coupon or gift card on top
INSERT INTO shop.payments (id, order_id, payment_method, amount)
SELECT row_number() OVER (ORDER BY order_id, part), order_id, payment_method, amount
  FROM (SELECT o.id AS order_id, 1 AS part,
               CASE WHEN m < 0.70 THEN 'credit_card' WHEN m < 0.90 THEN 'bank_transfer' ELSE 'gift_card' END AS payment_method,
               round((5 + random() * 95)::numeric, 2) AS amount
          FROM (SELECT id, random() AS m FROM shop.orders ORDER BY id) o
        UNION ALL
        SELECT o.id, 2,
               CASE WHEN m < 0.75 THEN 'coupon' ELSE 'gift_card' END,
               round((1 + random() * 24)::numeric, 2)
          FROM (SELECT id, random() AS p, random() AS m FROM shop.orders ORDER BY id) o
         WHERE o.p < 0.20) x;

COMMIT;

ANALYZE shop.customers, shop.orders, shop.payments;

SELECT (SELECT count(*) FROM shop.customers) AS customers,
       (SELECT count(*) FROM shop.orders) AS orders,
       (SELECT count(*) FROM shop.payments) AS payments;
