/* emit/tsql.h: T-SQL expressions of defaults, check constraints and computed columns ->
 * PostgreSQL 15 expressions.
 *
 * A self-contained section meant to be merged into emit/emit.h by the lead; it depends on
 * base/base.h (b2p_status) and pages/value.h (b2p_buf) only.
 *
 * Input: the definition text as sys.default_constraints / sys.check_constraints /
 * sys.computed_columns hold it (normalized by SQL Server: "((0))", "([Qty]>(0))",
 * "(getdate())", N'..' literals, brackets around names), or as a script wrote it (the truth
 * files: "Discount >= 0 and (Discount <= 1)"). A tokenizer and a recursive-descent parser read
 * the whole T-SQL scalar-expression grammar these definitions use; a translator then writes
 * the PostgreSQL text, or refuses with a one-line reason. What is refused goes to review.sql:
 * the rule is that a translation either means the same thing in PostgreSQL or is not made.
 *
 * Output, appended to out on B2P_OK (nothing appended otherwise):
 *   B2P_TSQL_DEFAULT   an expression that can follow "DEFAULT " directly (it is parenthesized
 *                      when PostgreSQL's DEFAULT grammar would need it), already coerced to the
 *                      target column's type: ((0)) on boolean -> false, ('19000101') on date ->
 *                      '1900-01-01', (0) on text -> '0'; a default that PostgreSQL would reject
 *                      when the table is created ('' on uuid, 'abc' on integer) is refused.
 *   B2P_TSQL_CHECK     a boolean expression, for "CHECK (...)".
 *   B2P_TSQL_COMPUTED  an immutable expression of the target type, for
 *                      "GENERATED ALWAYS AS (...) STORED"; refused when it is not immutable in
 *                      PostgreSQL (getdate(), to_char, text casts of dates, ...) or references
 *                      another computed column (PostgreSQL forbids both).
 *
 * Translation choices (see emit/tsql.c for the whole table):
 *   getdate() sysdatetime() current_timestamp -> LOCALTIMESTAMP: datetime/datetime2 carry no
 *     zone, and bak2pg maps them to timestamp without time zone; LOCALTIMESTAMP is of that very
 *     type, so defaults, comparisons and dateadd arithmetic stay in timestamp (CURRENT_TIMESTAMP
 *     is timestamptz and would bring the session zone into every comparison).
 *     On a date target: CURRENT_DATE.
 *   getutcdate() sysutcdatetime() -> (now() AT TIME ZONE 'utc'); sysdatetimeoffset() ->
 *     CURRENT_TIMESTAMP; newid() newsequentialid() -> gen_random_uuid() (PostgreSQL 13+).
 *   isnull -> COALESCE; len(x) -> length(rtrim(x)); charindex(a,b) -> strpos(b,a);
 *   [x] LIKE 'pattern' -> x ~ '^regex *$' (T-SQL classes [a-z] [^a-z], ignored trailing blanks
 *     of the matched value; ~* when the collation is case-insensitive and the pattern has
 *     letters); string + string -> || only when both sides are known text;
 *     bit column = 0/1 -> = false/true; N'x' -> 'x'; redundant parentheses dropped.
 * Identifiers: every column name is resolved through the lookup callback, which gives the
 * PostgreSQL identifier (already quoted as needed) and type. A default that references a
 * column is refused (SQL Server forbids it too). */
#ifndef B2P_TSQL_H
#define B2P_TSQL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "pages/value.h"

typedef enum b2p_tsql_kind {
    B2P_TSQL_DEFAULT,
    B2P_TSQL_CHECK,
    B2P_TSQL_COMPUTED
} b2p_tsql_kind;

/* One column of the table, as the lookup callback describes it. */
typedef struct b2p_tsql_column {
    const char *ident;    /* the PostgreSQL identifier as it is written in the output, quoted
                             when needed (e.g. unitprice, "Order Date"); must stay valid until
                             b2p_tsql_translate returns */
    const char *pg_type;  /* its PostgreSQL type ("integer", "char(5)", "timestamp(3)", ...);
                             NULL when unknown (then it only passes where any type would do) */
    bool generated;       /* a computed column (GENERATED in PostgreSQL) */
} b2p_tsql_column;

/* name: the SQL Server column name, unquoted (brackets removed, ]] undoubled), NUL-terminated.
 * Returns false when the table has no such column. SQL Server resolves names with the
 * database collation, usually case-insensitively: the callback should match accordingly. */
typedef bool (*b2p_tsql_lookup_fn)(void *ctx, const char *name, b2p_tsql_column *out);

typedef struct b2p_tsql_context {
    b2p_tsql_kind kind;
    const char *target_type;    /* PostgreSQL type of the column the default or computed
                                   expression belongs to ("boolean", "numeric(10,2)", "uuid",
                                   ...); NULL for checks, or when unknown */
    b2p_tsql_lookup_fn lookup;  /* NULL: no column can be referenced */
    void *lookup_ctx;
    bool case_sensitive;        /* the collation is _CS_; false (the SQL Server default, _CI_):
                                   LIKE patterns and text literals with letters compare without
                                   case (~*, lower(..) = lower(..)) */
} b2p_tsql_context;

/* Translates one expression. On B2P_OK the PostgreSQL text is appended to out. Otherwise
 * nothing is appended and why (when whylen > 0) holds a one-line reason, e.g.
 *   B2P_ERR_UNSUPPORTED  "function FORMAT has no PostgreSQL translation",
 *                        "string concatenation with + on a non-text operand",
 *                        "'' is not a valid uuid default";
 *   B2P_ERR_CORRUPT      the text is not a T-SQL expression ("unterminated string literal at
 *                        offset 4", "unexpected ')' at offset 7");
 *   B2P_ERR_NOMEM. */
b2p_status b2p_tsql_translate(const b2p_tsql_context *cx, const char *tsql, b2p_buf *out,
                              char *why, size_t whylen);

#endif
