# The application's own secrets, each given to the processes as the environment variable of
# its name in capitals (secret-key → SECRET_KEY): Django's secret key, the key that encrypts
# GOV.UK Pay API keys, the Redis URL with its auth token, Sentry's DSN. Encrypted with the
# environment's key; their values are set by an operator (infra/RUNBOOK.md). The database's
# password is RDS's own managed secret, rotated by RDS every 7 days.
variable "name" {
  type = string
}
variable "kms_key_arn" {
  type = string
}
variable "names" {
  type    = list(string)
  default = ["secret-key", "counterfoil-encryption-key", "redis-url", "sentry-dsn"]
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57:These are keys the application derives data from (encrypted API keys, signed sessions); rotating them is a planned operator step (infra/RUNBOOK.md), not a Lambda's.
  for_each                = toset(var.names)
  name                    = "${var.name}/${each.key}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

output "arns" {
  value = { for name, secret in aws_secretsmanager_secret.this : name => secret.arn }
}
