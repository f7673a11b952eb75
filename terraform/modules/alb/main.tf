# The load balancer: HTTPS only (TLS 1.2 and up), HTTP redirected, a certificate for the
# platform's domain and every council's subdomain, health checked on /readyz, access logged,
# and the WAF in front of it.
variable "name" {
  type = string
}
variable "vpc_id" {
  type = string
}
variable "subnet_ids" {
  type = list(string)
}
variable "domain" {
  type = string
}
variable "web_acl_arn" {
  type = string
}

resource "aws_acm_certificate" "this" {
  domain_name               = var.domain
  subject_alternative_names = ["*.${var.domain}"]
  validation_method         = "DNS"
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "this" {
  # checkov:skip=CKV_AWS_260:Port 80 is open only to answer with a redirect to HTTPS.
  name        = "${var.name}-alb"
  description = "The load balancer: HTTPS and HTTP (redirected) from anywhere"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    description = "HTTP, only to be redirected to HTTPS"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "To the web tasks in the VPC"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}

# ALB access logs can only be written to a bucket encrypted with S3's own keys.
resource "aws_s3_bucket" "logs" {
  # checkov:skip=CKV_AWS_145:ALB access logs support only SSE-S3 encryption, not KMS.
  # checkov:skip=CKV_AWS_144:One region by design (UK data residency).
  # checkov:skip=CKV2_AWS_62:Nothing reacts to new log objects.
  # checkov:skip=CKV_AWS_18:This is a log bucket itself.
  bucket = "${var.name}-alb-logs"
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "keep-a-year-and-more"
    status = "Enabled"
    filter {}
    expiration {
      days = 400
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

data "aws_elb_service_account" "this" {}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = data.aws_elb_service_account.this.arn }
      Action    = "s3:PutObject"
      Resource  = "${aws_s3_bucket.logs.arn}/*"
    }]
  })
}

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_76:The web ACL associated below (modules/waf) runs AWS's known-bad-inputs group with its Log4j rules (CKV_AWS_192 passes on it); checkov cannot follow the association across modules.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.this.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  access_logs {
    bucket  = aws_s3_bucket.logs.bucket
    enabled = true
  }
}

resource "aws_lb_target_group" "web" {
  name        = "${var.name}-web"
  port        = 8000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  # Longer than gunicorn's graceful timeout (30 s): a task stopping finishes its requests.
  deregistration_delay = 35
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate.this.arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener" "http" {
  # checkov:skip=CKV_AWS_2:This listener only redirects to HTTPS.
  # checkov:skip=CKV_AWS_103:This listener only redirects to HTTPS; TLS policy is on the HTTPS one.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

output "security_group_id" {
  value = aws_security_group.this.id
}
output "target_group_arn" {
  value = aws_lb_target_group.web.arn
}
output "arn_suffix" {
  value = aws_lb.this.arn_suffix
}
output "target_group_arn_suffix" {
  value = aws_lb_target_group.web.arn_suffix
}
output "dns_name" {
  value = aws_lb.this.dns_name
}
