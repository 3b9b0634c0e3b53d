/**
 * Names a parsed statement the way an operator writes it (DROP TABLE, ALTER INDEX, BEGIN), from
 * libpg_query's node name and its object-type / kind fields. Unknown nodes fall back to their
 * node name split into words (CreateExtensionStmt → CREATE EXTENSION), so new PostgreSQL
 * statements still get a readable, stable type.
 */
type Obj = Record<string, unknown>;

const TRANSACTION_KINDS: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'BEGIN',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

const FIXED: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  TruncateStmt: 'TRUNCATE',
  CreateStmt: 'CREATE TABLE',
  IndexStmt: 'CREATE INDEX',
  ViewStmt: 'CREATE VIEW',
  CreateSeqStmt: 'CREATE SEQUENCE',
  AlterSeqStmt: 'ALTER SEQUENCE',
  CreateFunctionStmt: 'CREATE FUNCTION',
  CreateTrigStmt: 'CREATE TRIGGER',
  CreatePolicyStmt: 'CREATE POLICY',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  DropRoleStmt: 'DROP ROLE',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  AlterDatabaseStmt: 'ALTER DATABASE',
  CreateSchemaStmt: 'CREATE SCHEMA',
  CopyStmt: 'COPY',
  VariableShowStmt: 'SHOW',
  ExplainStmt: 'EXPLAIN',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  LockStmt: 'LOCK',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  DiscardStmt: 'DISCARD',
  ListenStmt: 'LISTEN',
  UnlistenStmt: 'UNLISTEN',
  NotifyStmt: 'NOTIFY',
  DeclareCursorStmt: 'DECLARE CURSOR',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  ReindexStmt: 'REINDEX',
  ClusterStmt: 'CLUSTER',
  CheckPointStmt: 'CHECKPOINT',
  LoadStmt: 'LOAD',
  CommentStmt: 'COMMENT',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  AlterSystemStmt: 'ALTER SYSTEM',
  CreateExtensionStmt: 'CREATE EXTENSION',
};

/** OBJECT_MATVIEW → MATERIALIZED VIEW, OBJECT_FOREIGN_TABLE → FOREIGN TABLE. */
export function objectTypeName(objtype: unknown): string {
  if (typeof objtype !== 'string') return 'OBJECT';
  const name = objtype.replace(/^OBJECT_/, '');
  return name === 'MATVIEW' ? 'MATERIALIZED VIEW' : name.replace(/_/g, ' ');
}

function words(nodeName: string): string {
  return nodeName
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/** The statement type of one `{ <NodeName>: {...} }` raw statement node. */
export function statementType(nodeName: string, body: Obj): string {
  switch (nodeName) {
    case 'SelectStmt':
      return body.intoClause ? 'SELECT INTO' : 'SELECT';
    case 'TransactionStmt':
      return TRANSACTION_KINDS[String(body.kind)] ?? 'TRANSACTION';
    case 'DropStmt':
      return `DROP ${objectTypeName(body.removeType)}`;
    case 'AlterTableStmt':
      return `ALTER ${objectTypeName(body.objtype)}`;
    case 'RenameStmt':
      // ALTER TABLE … RENAME is as much a schema change as any other ALTER TABLE.
      return `ALTER ${objectTypeName(body.renameType)}`;
    case 'CreateTableAsStmt':
      return `CREATE ${objectTypeName(body.objtype)} AS`;
    case 'VariableSetStmt':
      return body.kind === 'VAR_RESET' || body.kind === 'VAR_RESET_ALL' ? 'RESET' : 'SET';
    case 'GrantStmt':
      return body.is_grant ? 'GRANT' : 'REVOKE';
    case 'GrantRoleStmt':
      return body.is_grant ? 'GRANT ROLE' : 'REVOKE ROLE';
    case 'VacuumStmt':
      return body.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
    default:
      return FIXED[nodeName] ?? words(nodeName);
  }
}
