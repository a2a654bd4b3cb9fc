-- 001: extensions the store needs.
-- pgvector gives the vector(245) type and HNSW indexes for similarity search.
CREATE EXTENSION IF NOT EXISTS vector;
