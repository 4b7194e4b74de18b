// Constraints and indexes graphmem needs; every statement is idempotent (IF NOT EXISTS).
// Applied by Neo4jStore on connect. Every graphmem node carries the label Node beside its own.

// (namespace, id) identifies a node; this constraint's index serves every lookup by id.
CREATE CONSTRAINT graphmem_node_key IF NOT EXISTS
FOR (n:Node) REQUIRE (n.namespace, n.id) IS UNIQUE;

// One revision counter per namespace.
CREATE CONSTRAINT graphmem_revision_key IF NOT EXISTS
FOR (r:GraphmemRevision) REQUIRE r.namespace IS UNIQUE;

// Scans of one namespace (iteration, counts, delete by document).
CREATE INDEX graphmem_node_namespace IF NOT EXISTS
FOR (n:Node) ON (n.namespace);

// Entity resolution looks entities up by normalised key.
CREATE INDEX graphmem_entity_key IF NOT EXISTS
FOR (n:Entity) ON (n.namespace, n.key);

// Facts by subject and predicate (temporal queries, reconsolidation).
CREATE INDEX graphmem_fact_subject IF NOT EXISTS
FOR (n:Fact) ON (n.namespace, n.subject_id, n.predicate);

// Full-text search over names and passage text (BM25-style scoring by Lucene).
CREATE FULLTEXT INDEX graphmem_entity_names IF NOT EXISTS
FOR (n:Entity) ON EACH [n.name];

CREATE FULLTEXT INDEX graphmem_passage_text IF NOT EXISTS
FOR (n:Passage|Turn) ON EACH [n.text];

// Vector indexes over the embeddings graphmem stores (all-MiniLM-L6-v2: 384 dimensions).
CREATE VECTOR INDEX graphmem_entity_embedding IF NOT EXISTS
FOR (n:Entity) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};

CREATE VECTOR INDEX graphmem_passage_embedding IF NOT EXISTS
FOR (n:Passage) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};

CREATE VECTOR INDEX graphmem_turn_embedding IF NOT EXISTS
FOR (n:Turn) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};

CREATE VECTOR INDEX graphmem_fact_embedding IF NOT EXISTS
FOR (n:Fact) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};

// One ingestion lease per namespace (graphmem.store.locks): concurrent ingestions take turns.
CREATE CONSTRAINT graphmem_lease_key IF NOT EXISTS
FOR (l:GraphmemLease) REQUIRE l.namespace IS UNIQUE;
