# The store: RDS PostgreSQL. pgvector ships with RDS PostgreSQL 16+; the project's first
# migration (sql/001_extensions.sql) runs CREATE EXTENSION vector on the first load.
# The master password is generated and kept by RDS in Secrets Manager; the jobs and the
# web app read it at start-up (DATABASE_SECRET_ARN), so it is in no file and no state.

resource "aws_db_subnet_group" "store" {
  name_prefix = "${var.name}-"
  subnet_ids  = data.aws_subnets.default.ids
}

resource "aws_db_instance" "store" {
  identifier_prefix           = "${var.name}-"
  engine                      = "postgres"
  engine_version              = var.postgres_version
  instance_class              = var.db_instance_class
  allocated_storage           = var.db_allocated_storage
  storage_type                = "gp3"
  storage_encrypted           = true
  db_name                     = "fma"
  username                    = "fma"
  manage_master_user_password = true
  db_subnet_group_name        = aws_db_subnet_group.store.name
  vpc_security_group_ids      = [aws_security_group.db.id]
  publicly_accessible         = false
  backup_retention_period     = 7
  deletion_protection         = true
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${var.name}-final"
  apply_immediately           = false
}
