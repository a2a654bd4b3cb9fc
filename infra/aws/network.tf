# Who may talk to whom: the EMR nodes and the web host reach the store; the EMR nodes
# share the work folder on EFS (the driver swaps outputs in by renames, so every node
# must see the same files).

resource "aws_security_group" "emr" {
  name_prefix = "${var.name}-emr-"
  description = "EMR nodes of the reprocessing runs"
  vpc_id      = data.aws_vpc.default.id
}

resource "aws_security_group" "web" {
  name_prefix = "${var.name}-web-"
  description = "The web app host"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description = "HTTP"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = [var.web_ingress_cidr]
  }

  egress {
    description = "Package installs, S3, Secrets Manager"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-db-"
  description = "The PostgreSQL store"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description     = "PostgreSQL from the EMR nodes and the web host"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.emr.id, aws_security_group.web.id]
  }
}

resource "aws_security_group" "efs" {
  name_prefix = "${var.name}-efs-"
  description = "The shared work folder"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description     = "NFS from the EMR nodes"
    from_port       = 2049
    to_port         = 2049
    protocol        = "tcp"
    security_groups = [aws_security_group.emr.id]
  }
}

resource "aws_efs_file_system" "work" {
  creation_token = "${var.name}-work"
  encrypted      = true

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
}

resource "aws_efs_mount_target" "work" {
  file_system_id  = aws_efs_file_system.work.id
  subnet_id       = local.subnet_id
  security_groups = [aws_security_group.efs.id]
}
