# The alarms that wake someone: the site answering errors or not at all, the database running
# short of storage, CPU or connections, Redis short of memory, the one scheduler not running,
# and workers falling behind. Each goes to one encrypted topic the on-call rota subscribes to.
variable "name" {
  type = string
}
variable "kms_key_arn" {
  type = string
}
variable "alb_arn_suffix" {
  type = string
}
variable "target_group_arn_suffix" {
  type = string
}
variable "db_identifier" {
  type = string
}
variable "redis_id" {
  type = string
}
variable "cluster_name" {
  type = string
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

locals {
  alarms = {
    "web-5xx" = {
      namespace   = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", statistic = "Sum",
      threshold   = 20, comparison = "GreaterThanThreshold",
      dimensions  = { LoadBalancer = var.alb_arn_suffix },
      description = "More than 20 server errors a minute"
    }
    "web-unhealthy" = {
      namespace   = "AWS/ApplicationELB", metric = "HealthyHostCount", statistic = "Minimum",
      threshold   = 1, comparison = "LessThanThreshold",
      dimensions  = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix },
      description = "No web task is ready (/readyz)"
    }
    "web-slow" = {
      namespace   = "AWS/ApplicationELB", metric = "TargetResponseTime", statistic = "Average",
      threshold   = 1, comparison = "GreaterThanThreshold",
      dimensions  = { LoadBalancer = var.alb_arn_suffix },
      description = "Pages take more than a second on average"
    }
    "db-cpu" = {
      namespace   = "AWS/RDS", metric = "CPUUtilization", statistic = "Average",
      threshold   = 85, comparison = "GreaterThanThreshold",
      dimensions  = { DBInstanceIdentifier = var.db_identifier },
      description = "The database's CPU above 85%"
    }
    "db-storage" = {
      namespace   = "AWS/RDS", metric = "FreeStorageSpace", statistic = "Minimum",
      threshold   = 20000000000, comparison = "LessThanThreshold",
      dimensions  = { DBInstanceIdentifier = var.db_identifier },
      description = "Less than 20 GB of database storage free"
    }
    "db-connections" = {
      namespace   = "AWS/RDS", metric = "DatabaseConnections", statistic = "Maximum",
      threshold   = 400, comparison = "GreaterThanThreshold",
      dimensions  = { DBInstanceIdentifier = var.db_identifier },
      description = "Database connections near the limit"
    }
    "redis-memory" = {
      namespace   = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", statistic = "Maximum",
      threshold   = 80, comparison = "GreaterThanThreshold",
      dimensions  = { ReplicationGroupId = var.redis_id },
      description = "Redis (the broker) above 80% of its memory: tasks are piling up"
    }
    "beat-not-running" = {
      namespace   = "ECS/ContainerInsights", metric = "RunningTaskCount", statistic = "Minimum",
      threshold   = 1, comparison = "LessThanThreshold",
      dimensions  = { ClusterName = var.cluster_name, ServiceName = "beat" },
      description = "The scheduler is not running: no mop-up, no heartbeats, no daily work"
    }
    "workers-not-running" = {
      namespace   = "ECS/ContainerInsights", metric = "RunningTaskCount", statistic = "Minimum",
      threshold   = 1, comparison = "LessThanThreshold",
      dimensions  = { ClusterName = var.cluster_name, ServiceName = "worker" },
      description = "No worker: imports, exports and webhooks wait"
    }
  }
}

# The application's own figures (counterfoil.metrics, scraped by the web task's CloudWatch agent
# into the Counterfoil namespace; the console's home flags the same limits). No data means the
# scrape itself has stopped: that wakes someone too.
locals {
  application_alarms = {
    "worker-behind" = {
      metric      = "counterfoil_worker_heartbeat_age_seconds", threshold = 300,
      description = "A council's scheduled heartbeat is over five minutes old: tasks wait or nothing takes them"
    }
    "task-queue-deep" = {
      metric      = "counterfoil_task_queue_depth", threshold = 5000,
      description = "More than 5,000 tasks wait in the queue"
    }
    "webhooks-waiting" = {
      metric      = "counterfoil_webhook_inbox_oldest_seconds", threshold = 300,
      description = "A GOV.UK Pay webhook has waited over five minutes to be applied"
    }
    "mop-up-behind" = {
      metric      = "counterfoil_mop_up_lag_seconds", threshold = 7200,
      description = "A council's GOV.UK Pay payments have not been checked for two hours"
    }
    "exports-failing" = {
      metric      = "counterfoil_exports_failed_last_day", threshold = 0,
      description = "An export to a back-office system failed in the last day"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "application" {
  for_each            = local.application_alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "Counterfoil"
  metric_name         = each.value.metric
  statistic           = "Maximum"
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  period              = 60
  evaluation_periods  = 5
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  dimensions          = each.value.dimensions
  period              = 60
  evaluation_periods  = 5
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

output "topic_arn" {
  value = aws_sns_topic.alarms.arn
}
