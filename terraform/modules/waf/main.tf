# AWS's managed rules (common, known bad inputs with Log4j, SQL injection, IP reputation), and a
# rate limit per address on the doors attackers lean on: sign-in, the second factor, the
# application form and the webhooks (GOV.UK Pay's and Stripe's come from few addresses, but
# a flood from one is still refused).
variable "name" {
  type = string
}
variable "kms_key_arn" {
  type = string
}
variable "sign_in_requests_per_5_minutes" {
  type    = number
  default = 300
}

locals {
  managed = {
    AWSManagedRulesCommonRuleSet          = 10
    AWSManagedRulesSQLiRuleSet            = 30
    AWSManagedRulesAmazonIpReputationList = 40
    AWSManagedRulesAnonymousIpList        = 50
  }
  limited_paths = ["/accounts/login/", "/accounts/2fa/", "/apply/", "/govuk-pay/webhook/", "/billing/stripe/webhook/"]
}

resource "aws_wafv2_web_acl" "this" {
  name  = var.name
  scope = "REGIONAL"
  default_action {
    allow {}
  }

  # Known bad inputs, Log4j's lookups (CVE-2021-44228) among them.
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = local.managed
    content {
      name     = rule.key
      priority = rule.value
      override_action {
        none {}
      }
      statement {
        managed_rule_group_statement {
          name        = rule.key
          vendor_name = "AWS"
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = rule.key
        sampled_requests_enabled   = true
      }
    }
  }

  dynamic "rule" {
    for_each = { for index, path in local.limited_paths : path => index }
    content {
      name     = "rate-limit-${rule.value}"
      priority = 100 + rule.value
      action {
        block {}
      }
      statement {
        rate_based_statement {
          limit              = var.sign_in_requests_per_5_minutes
          aggregate_key_type = "IP"
          scope_down_statement {
            byte_match_statement {
              search_string         = rule.key
              positional_constraint = "STARTS_WITH"
              field_to_match {
                uri_path {}
              }
              text_transformation {
                priority = 0
                type     = "NONE"
              }
            }
          }
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "rate-limit-${rule.value}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_cloudwatch_log_group" "waf" {
  # WAF's log group names must start with aws-waf-logs-.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = 400
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}

output "arn" {
  value = aws_wafv2_web_acl.this.arn
}
