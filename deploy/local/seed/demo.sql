-- Seed of the `demo` database that agents reach through Chaperone (deploy/local/up runs it once,
-- as role chaperone_upstream, in one transaction). Deterministic: the same rows every time, so
-- tests can assert on them. About 1000 rows: 300 customers, 40 products, 650 orders, 6 secrets.
-- The values look real on purpose (emails, card tails, an AWS access key, a private key) so that
-- masking policies have something to find; none of them is a real credential.

CREATE TABLE customers (
  id          integer PRIMARY KEY,
  full_name   text        NOT NULL,
  email       text        NOT NULL UNIQUE,
  phone       text,
  country     char(2)     NOT NULL,
  card_last4  char(4),
  created_at  timestamptz NOT NULL
);

CREATE TABLE products (
  id          integer PRIMARY KEY,
  sku         text          NOT NULL UNIQUE,
  name        text          NOT NULL,
  price_cents integer       NOT NULL CHECK (price_cents > 0)
);

CREATE TABLE orders (
  id          integer PRIMARY KEY,
  customer_id integer     NOT NULL REFERENCES customers(id),
  product_id  integer     NOT NULL REFERENCES products(id),
  quantity    integer     NOT NULL CHECK (quantity > 0),
  status      text        NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'refunded')),
  total_cents integer     NOT NULL,
  ordered_at  timestamptz NOT NULL
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE secrets (
  id         integer PRIMARY KEY,
  name       text        NOT NULL UNIQUE,
  kind       text        NOT NULL,
  value      text        NOT NULL,
  created_at timestamptz NOT NULL
);

INSERT INTO customers (id, full_name, email, phone, country, card_last4, created_at)
SELECT i,
       f.first || ' ' || l.last,
       lower(f.first) || '.' || lower(l.last) || i || '@' || (ARRAY['example.com', 'mail.example.org', 'acme.test', 'contoso.example'])[1 + i % 4],
       '+1-555-' || lpad(((i * 7919) % 10000)::text, 4, '0'),
       (ARRAY['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'])[1 + i % 8],
       lpad(((i * 4271) % 10000)::text, 4, '0'),
       timestamptz '2024-01-01 00:00:00+00' + (i * interval '7 hours 13 minutes')
FROM generate_series(1, 300) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken',
                                  'Margaret', 'Dennis', 'Radia', 'Linus', 'Hedy', 'Tim', 'Shafi', 'Leslie'])[1 + i % 16] AS first) f
CROSS JOIN LATERAL (SELECT (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson',
                                  'Hamilton', 'Ritchie', 'Perlman', 'Torvalds', 'Lamarr', 'Berners-Lee', 'Goldwasser',
                                  'Lamport', 'Wirth'])[1 + (i * 7) % 17] AS last) l;

INSERT INTO products (id, sku, name, price_cents)
SELECT i,
       'SKU-' || lpad(i::text, 5, '0'),
       (ARRAY['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Doohickey'])[1 + i % 5] || ' ' ||
       (ARRAY['Mini', 'Pro', 'Max', 'Lite', 'Plus', 'Ultra', 'Classic', 'Go'])[1 + i % 8],
       499 + (i * 1237) % 20000
FROM generate_series(1, 40) AS i;

INSERT INTO orders (id, customer_id, product_id, quantity, status, total_cents, ordered_at)
SELECT i, c, p, q,
       (ARRAY['pending', 'paid', 'paid', 'shipped', 'shipped', 'shipped', 'refunded'])[1 + i % 7],
       q * (SELECT price_cents FROM products WHERE id = p),
       timestamptz '2024-03-01 00:00:00+00' + (i * interval '3 hours 17 minutes')
FROM generate_series(1, 650) AS i
CROSS JOIN LATERAL (SELECT 1 + (i * 37) % 300 AS c, 1 + (i * 13) % 40 AS p, 1 + i % 5 AS q) x;

INSERT INTO secrets (id, name, kind, value, created_at) VALUES
  (1, 'billing-aws', 'aws_access_key', 'AKIAIOSFODNN7EXAMPLE', '2024-02-01 09:00:00+00'),
  (2, 'billing-aws-secret', 'aws_secret_key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '2024-02-01 09:00:00+00'),
  (3, 'deploy-key', 'ssh_private_key', E'-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEAAAAJg\n-----END OPENSSH PRIVATE KEY-----\n', '2024-02-03 11:30:00+00'),
  (4, 'tls-origin', 'tls_private_key', E'-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE00\n-----END PRIVATE KEY-----\n', '2024-02-05 16:45:00+00'),
  (5, 'reporting-db', 'password', 'correct-horse-battery-staple-42', '2024-02-07 08:15:00+00'),
  (6, 'webhook-signing', 'hmac_key', 'whsec_0123456789abcdef0123456789abcdef', '2024-02-09 13:00:00+00');

ANALYZE customers, products, orders, secrets;
