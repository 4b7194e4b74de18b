// Insert or replace a batch of nodes of one label: properties are replaced, supporting
// documents (docs) are unioned. Returns the ids whose existing node has another label.
// Params: $label, $rows = [{namespace, id, props, docs}]
UNWIND $rows AS row
MERGE (n:Node {namespace: row.namespace, id: row.id})
WITH n, row,
     CASE WHEN n.docs IS NULL THEN row.docs
          ELSE n.docs + [d IN row.docs WHERE NOT d IN n.docs] END AS docs,
     [l IN labels(n) WHERE l <> 'Node' AND l <> $label] AS other_labels
SET n = row.props, n.namespace = row.namespace, n.id = row.id, n.docs = docs
SET n:$($label)
WITH n, other_labels WHERE size(other_labels) > 0
RETURN n.id AS id, other_labels
