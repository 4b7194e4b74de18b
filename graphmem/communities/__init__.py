"""Communities: hierarchical Leiden clustering of the entity graph, summaries and global retrieval.

``clustering`` (the partition), ``ids`` (stable ids), ``summary`` (extractive or LLM summaries) and
``build`` (a run's records) are pure; ``storage`` reads and writes them through a GraphStore;
``search`` answers ``Memory.retrieve(query, mode="global")``.
"""

from graphmem.communities.build import CommunityConfig, Plan, plan
from graphmem.communities.clustering import ClusterConfig
from graphmem.communities.storage import WriteReport, read_communities, write_communities
from graphmem.communities.summary import SummaryConfig

__all__ = ["ClusterConfig", "CommunityConfig", "Plan", "SummaryConfig", "WriteReport", "plan", "read_communities",
           "write_communities"]  # fmt: skip
