// Reads a Parquet file with DuckDB and prints every row, columns joined by '|', NULL as NULL;
// with "stats" after the file name, prints the statistics of row group 0 as DuckDB reads them.
import { DuckDBInstance } from '../build/npm/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const file = process.argv[2].replaceAll("'", "''");
const sql = process.argv[3] === 'stats'
  ? `SELECT path_in_schema, compression, stats_min_value, stats_max_value, stats_null_count
       FROM parquet_metadata('${file}') WHERE row_group_id = 0 ORDER BY column_id`
  : `SELECT * FROM read_parquet('${file}')`;
const reader = await con.runAndReadAll(sql);
for (const row of reader.getRows()) {
  process.stdout.write(row.map(v => v === null ? 'NULL' : String(v)).join('|') + '\n');
}
