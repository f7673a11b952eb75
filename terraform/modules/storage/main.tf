# The files bucket: imports, exports and closed councils' archives, each council under its own
# prefix (councils/<schema>/...). Encrypted with the environment's key, versioned, never
# public; closed councils' archives kept for the retention the README names (six years) and
# then deleted; old versions kept 90 days. Access is logged to a second bucket.
variable "name" {
  type = string
}
variable "kms_key_arn" {
  type = string
}
variable "archive_retention_days" {
  type    = number
  default = 2190
}

resource "aws_s3_bucket" "files" {
  # checkov:skip=CKV_AWS_144:One region by design (UK data residency); the bucket is versioned and backed by AWS's own durability.
  # checkov:skip=CKV2_AWS_62:Nothing reacts to new objects; the application writes and reads them itself.
  bucket = "${var.name}-files"
}

resource "aws_s3_bucket" "access_logs" {
  # checkov:skip=CKV_AWS_144:One region by design (UK data residency).
  # checkov:skip=CKV2_AWS_62:Nothing reacts to new log objects.
  # checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it would loop.
  bucket = "${var.name}-access-logs"
}

resource "aws_s3_bucket_public_access_block" "files" {
  bucket                  = aws_s3_bucket.files.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "files" {
  bucket = aws_s3_bucket.files.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "files" {
  bucket = aws_s3_bucket.files.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_logging" "files" {
  bucket        = aws_s3_bucket.files.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "files/"
}

resource "aws_s3_bucket_lifecycle_configuration" "files" {
  bucket = aws_s3_bucket.files.id
  rule {
    id     = "closed-council-archives"
    status = "Enabled"
    filter {
      prefix = "archives/"
    }
    expiration {
      days = var.archive_retention_days
    }
  }
  rule {
    id     = "old-versions-and-unfinished-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "keep-a-year-and-more"
    status = "Enabled"
    filter {}
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

output "bucket" {
  value = aws_s3_bucket.files.bucket
}
output "bucket_arn" {
  value = aws_s3_bucket.files.arn
}
output "access_logs_bucket" {
  value = aws_s3_bucket.access_logs.bucket
}
