"""Full-text search over products: an index kept right by triggers in the writing transaction.

PostgreSQL: `product_search.document`, a tsvector weighted A (name), B (category names up the
tree, SKUs) and C (description), under a GIN index; `search_words`, the vocabulary that typo
tolerance reads with pg_trgm. SQLite: an FTS5 table of the same four texts (bm25 weighs its
columns) and an fts5vocab view of its words. Text is folded to lower-case alphanumeric runs on
both, so both tokenise alike. Triggers, not the write functions, keep the index: every writer
(mutations, tasks, the seed, SQL by hand) goes through them in its own transaction.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE FUNCTION search_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT regexp_replace(lower(coalesce(value, '')), '[^[:alnum:]]+', ' ', 'g')
    $$
    """,
    """
    CREATE TABLE product_search (
        product_id bigint PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_product_search_document ON product_search USING gin (document)",
    "CREATE TABLE search_words (word text PRIMARY KEY)",
    "CREATE INDEX ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)",
    """
    CREATE FUNCTION product_search_refresh(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        -- EXECUTE plans each call: a plan cached while the seed's tables were still empty
        -- scans product_variants whole for every product (the 20,000-product seed took 6 min).
        EXECUTE $sql$
        INSERT INTO product_search (product_id, document)
        SELECT p.id,
            setweight(to_tsvector('simple', search_fold(p.name)), 'A')
            || setweight(to_tsvector('simple', search_fold(chain.names)), 'B')
            || setweight(to_tsvector('simple', search_fold(sold.skus)), 'B')
            || setweight(to_tsvector('simple', search_fold(p.description)), 'C')
        FROM (SELECT DISTINCT unnest($1::bigint[])) AS wanted(id)
        JOIN products p ON p.id = wanted.id
        LEFT JOIN LATERAL (
            SELECT string_agg(c.name, ' ' ORDER BY c.level) AS names
            FROM categories leaf JOIN categories c ON leaf.path LIKE c.path || '%'
            WHERE leaf.id = p.category_id) AS chain ON true
        LEFT JOIN LATERAL (
            SELECT string_agg(v.sku, ' ' ORDER BY v.position, v.id) AS skus
            FROM product_variants v WHERE v.product_id = p.id) AS sold ON true
        ON CONFLICT (product_id) DO UPDATE SET document = excluded.document
        $sql$ USING ids;
        -- Words only ever join the vocabulary: one no product has any more corrects a typo
        -- to nothing, which costs a lookup, not a wrong answer.
        EXECUTE $sql$
        INSERT INTO search_words (word)
        SELECT DISTINCT w.word
        FROM (SELECT DISTINCT unnest($1::bigint[])) AS wanted(id)
        JOIN product_search s ON s.product_id = wanted.id
        CROSS JOIN unnest(tsvector_to_array(s.document)) AS w(word)
        WHERE w.word ~ '^[[:alpha:]]{3,}$'
        ON CONFLICT (word) DO NOTHING
        $sql$ USING ids;
    END
    $$
    """,
    # Inserts and deletes per statement (the seed writes thousands of rows in one), updates of
    # the columns that matter per row (PostgreSQL allows no column list with transition tables).
    """
    CREATE FUNCTION product_search_on_statement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('search.deferred', true) = 'on' THEN
            RETURN NULL;  -- a bulk load refreshes everything once at its end (db.search.bulk)
        END IF;
        IF TG_TABLE_NAME = 'products' THEN
            PERFORM product_search_refresh(ARRAY(SELECT id FROM written));
        ELSE
            PERFORM product_search_refresh(ARRAY(SELECT DISTINCT product_id FROM written));
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION product_search_on_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('search.deferred', true) = 'on' THEN
            RETURN NULL;  -- a bulk load refreshes everything once at its end (db.search.bulk)
        END IF;
        IF TG_TABLE_NAME = 'products' THEN
            PERFORM product_search_refresh(ARRAY[NEW.id]);
        ELSE
            PERFORM product_search_refresh(ARRAY[OLD.product_id, NEW.product_id]);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER product_search_product_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION product_search_on_statement()
    """,
    """
    CREATE TRIGGER product_search_product_updated
    AFTER UPDATE OF name, description, category_id ON products
    FOR EACH ROW EXECUTE FUNCTION product_search_on_row()
    """,
    """
    CREATE TRIGGER product_search_variant_inserted AFTER INSERT ON product_variants
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION product_search_on_statement()
    """,
    """
    CREATE TRIGGER product_search_variant_deleted AFTER DELETE ON product_variants
    REFERENCING OLD TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION product_search_on_statement()
    """,
    """
    CREATE TRIGGER product_search_variant_updated
    AFTER UPDATE OF sku, product_id ON product_variants
    FOR EACH ROW EXECUTE FUNCTION product_search_on_row()
    """,
    """
    CREATE FUNCTION product_search_on_category() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('search.deferred', true) = 'on' THEN
            RETURN NULL;
        END IF;
        PERFORM product_search_refresh(ARRAY(
            SELECT p.id FROM products p JOIN categories c ON c.id = p.category_id
            WHERE c.path LIKE NEW.path || '%'));
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER product_search_category_written AFTER UPDATE OF name, path ON categories
    FOR EACH ROW EXECUTE FUNCTION product_search_on_category()
    """,
    "SELECT product_search_refresh(ARRAY(SELECT id FROM products))",
    # Statistics now, not whenever autovacuum comes: without them the planner guesses how many
    # rows a search matches and scans the table instead of the GIN index.
    "ANALYZE product_search",
    "ANALYZE search_words",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER product_search_category_written ON categories",
    "DROP TRIGGER product_search_variant_updated ON product_variants",
    "DROP TRIGGER product_search_variant_deleted ON product_variants",
    "DROP TRIGGER product_search_variant_inserted ON product_variants",
    "DROP TRIGGER product_search_product_updated ON products",
    "DROP TRIGGER product_search_product_inserted ON products",
    "DROP FUNCTION product_search_on_category()",
    "DROP FUNCTION product_search_on_row()",
    "DROP FUNCTION product_search_on_statement()",
    "DROP FUNCTION product_search_refresh(bigint[])",
    "DROP TABLE search_words",
    "DROP TABLE product_search",
    "DROP FUNCTION search_fold(text)",
]

# The triggers store the raw texts: FTS5's unicode61 tokenizer folds them as search_fold does
# (lower case, split on whatever is not a letter or digit), and SQLite has no regexp_replace.
SQLITE_DOCUMENT = """
    SELECT p.id, p.name,
        coalesce((SELECT group_concat(name, ' ') FROM (
            SELECT c.name FROM categories leaf JOIN categories c ON leaf.path LIKE c.path || '%'
            WHERE leaf.id = p.category_id ORDER BY c.level)), ''),
        p.description,
        coalesce((SELECT group_concat(sku, ' ') FROM (
            SELECT v.sku FROM product_variants v WHERE v.product_id = p.id
            ORDER BY v.position, v.id)), '')
    FROM products p
"""
SQLITE_COLUMNS = "rowid, name, categories, description, skus"


def _sqlite_refresh(where: str) -> str:
    return (
        f"DELETE FROM product_search WHERE rowid IN (SELECT p.id FROM products p {where}); "
        f"INSERT INTO product_search ({SQLITE_COLUMNS}) {SQLITE_DOCUMENT} {where};"
    )


SQLITE_UP = [
    # remove_diacritics 0: PostgreSQL's simple configuration keeps accents, so must this.
    """
    CREATE VIRTUAL TABLE product_search USING fts5(
        name, categories, description, skus,
        tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')
    """,
    "CREATE VIRTUAL TABLE product_search_words USING fts5vocab(product_search, 'row')",
    # A row here while a bulk load runs (db.search.bulk): the triggers wait for its refresh.
    "CREATE TABLE product_search_deferred (since TEXT NOT NULL)",
    f"""
    CREATE TRIGGER product_search_product_inserted AFTER INSERT ON products
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {_sqlite_refresh("WHERE p.id = NEW.id")}
    END
    """,
    f"""
    CREATE TRIGGER product_search_product_updated
    AFTER UPDATE OF name, description, category_id ON products
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {_sqlite_refresh("WHERE p.id = NEW.id")}
    END
    """,
    """
    CREATE TRIGGER product_search_product_deleted AFTER DELETE ON products BEGIN
        DELETE FROM product_search WHERE rowid = OLD.id;
    END
    """,
    f"""
    CREATE TRIGGER product_search_variant_inserted AFTER INSERT ON product_variants
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {_sqlite_refresh("WHERE p.id = NEW.product_id")}
    END
    """,
    f"""
    CREATE TRIGGER product_search_variant_updated
    AFTER UPDATE OF sku, product_id ON product_variants
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {_sqlite_refresh("WHERE p.id IN (OLD.product_id, NEW.product_id)")}
    END
    """,
    f"""
    CREATE TRIGGER product_search_variant_deleted AFTER DELETE ON product_variants
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {_sqlite_refresh("WHERE p.id = OLD.product_id")}
    END
    """,
    f"""
    CREATE TRIGGER product_search_category_updated AFTER UPDATE OF name, path ON categories
    WHEN NOT EXISTS (SELECT 1 FROM product_search_deferred) BEGIN
        {
        _sqlite_refresh(
            "WHERE p.category_id IN (SELECT id FROM categories WHERE path LIKE NEW.path || '%')"
        )
    }
    END
    """,
    f"INSERT INTO product_search ({SQLITE_COLUMNS}) {SQLITE_DOCUMENT}",
]
SQLITE_DOWN = [
    "DROP TRIGGER product_search_category_updated",
    "DROP TRIGGER product_search_variant_deleted",
    "DROP TRIGGER product_search_variant_updated",
    "DROP TRIGGER product_search_variant_inserted",
    "DROP TRIGGER product_search_product_deleted",
    "DROP TRIGGER product_search_product_updated",
    "DROP TRIGGER product_search_product_inserted",
    "DROP TABLE product_search_deferred",
    "DROP TABLE product_search_words",
    "DROP TABLE product_search",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _run(POSTGRESQL_UP if postgresql else SQLITE_UP)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _run(POSTGRESQL_DOWN if postgresql else SQLITE_DOWN)
