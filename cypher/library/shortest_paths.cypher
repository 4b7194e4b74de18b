// The shortest paths between two entities through the facts that join them (entity -> fact -> entity),
// at most $max_hops facts long (default 4; paths longer than 8 hops are not searched). `hops` counts facts;
// `text` spells each path out ("A —predicate→ B ←predicate— C"); `path` is the graph path for Neo4j Browser.
// $source and $target match an entity's name or alias case-insensitively, its normalised key, or its id.
// Params: $namespace, $source, $target, $max_hops
MATCH (a:Entity {namespace: $namespace})
WHERE a.id = $source OR toLower(a.name) = toLower(trim($source)) OR a.key = toLower(trim($source))
   OR toLower(trim($source)) IN [alias IN coalesce(a.aliases, []) | toLower(alias)]
MATCH (b:Entity {namespace: $namespace})
WHERE b.id = $target OR toLower(b.name) = toLower(trim($target)) OR b.key = toLower(trim($target))
   OR toLower(trim($target)) IN [alias IN coalesce(b.aliases, []) | toLower(alias)]
WITH a, b WHERE a <> b
MATCH path = allShortestPaths((a)-[:SUBJECT|OBJECT*..16]-(b))
WHERE all(x IN nodes(path) WHERE x.namespace = $namespace)
// The length is checked after the search: in its WHERE, a bound no path meets sends Neo4j to enumerate every path.
WITH path WHERE length(path) <= 2 * coalesce($max_hops, 4)
WITH path, nodes(path) AS ns
RETURN length(path) / 2 AS hops,
       ns[0].name + reduce(text = '', i IN range(1, size(ns) - 2, 2) | text +
         CASE WHEN ns[i].subject_id = ns[i - 1].id THEN ' —' + ns[i].predicate + '→ '
              ELSE ' ←' + ns[i].predicate + '— ' END + ns[i + 1].name) AS text,
       [i IN range(1, size(ns) - 2, 2) | ns[i].id] AS fact_ids, path
ORDER BY hops, text
LIMIT 50
