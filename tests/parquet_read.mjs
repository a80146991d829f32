// Reads a Parquet file with DuckDB and prints every row, columns joined by '|', NULL as NULL.
import { DuckDBInstance } from '../build/npm/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const file = process.argv[2].replaceAll("'", "''");
const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
for (const row of reader.getRows()) {
  process.stdout.write(row.map(v => v === null ? 'NULL' : String(v)).join('|') + '\n');
}
