# The processes, on Fargate from one image: `serve` behind the load balancer, `worker`s, exactly
# one `beat`, and `release`, a one-shot task the deployment runs (and waits for) before it
# updates the services. Root file systems are read-only; everything written goes to the task's
# own /var/lib/counterfoil or to the files bucket.
variable "name" {
  type = string
}
variable "image" {
  type = string
}
variable "vpc_id" {
  type = string
}
variable "subnet_ids" {
  type = list(string)
}
variable "alb_security_group_id" {
  type = string
}
variable "target_group_arn" {
  type = string
}
variable "kms_key_arn" {
  type = string
}
variable "bucket_arn" {
  type = string
}
variable "bucket" {
  type = string
}
variable "secret_arns" {
  type = map(string)
}
variable "database_secret_arn" {
  type = string
}
variable "environment" {
  type = map(string)
}
variable "web_count" {
  type    = number
  default = 3
}
variable "worker_count" {
  type    = number
  default = 2
}
variable "cloudwatch_agent_image" {
  description = "The CloudWatch agent, pinned: it scrapes the web task's /metrics into CloudWatch."
  type        = string
  default     = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300049.1b929"
}

data "aws_region" "current" {}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(["web", "worker", "beat", "release"])
  name              = "/${var.name}/${each.key}"
  retention_in_days = 400
  kms_key_id        = var.kms_key_arn
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Counterfoil's tasks: the web port from the load balancer only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "The web port, from the load balancer"
    from_port       = 8000
    to_port         = 8000
    protocol        = "tcp"
    security_groups = [var.alb_security_group_id]
  }
  egress {
    # checkov:skip=CKV_AWS_382:Tasks call GOV.UK Pay, Stripe, GOV.UK Notify and Sentry on the internet, through the NAT.
    description = "HTTPS out (GOV.UK Pay, Stripe, Notify, Sentry) and AWS's services"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = concat(values(var.secret_arns), [var.database_secret_arn])
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
    ]
  })
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "task_files" {
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = ["${var.bucket_arn}/councils/*", "${var.bucket_arn}/archives/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = var.bucket_arn
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.kms_key_arn]
      },
    ]
  })
}

# The web task's CloudWatch agent writes its metrics as embedded-metric-format log events.
resource "aws_iam_role_policy" "task_metrics" {
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = ["${aws_cloudwatch_log_group.prometheus.arn}:*"]
      },
    ]
  })
}

locals {
  # Imports, exports and archives go to the files bucket (STORAGE_BUCKET, tenants.file_store),
  # so a file a web task receives is the file every worker task reads.
  environment = [for key, value in merge(var.environment, { STORAGE_BUCKET = var.bucket }) : { name = key, value = value }]
  secrets = concat(
    [for key, arn in var.secret_arns : { name = upper(replace(key, "-", "_")), valueFrom = arn }],
    [{ name = "DATABASE_PASSWORD", valueFrom = "${var.database_secret_arn}:password::" }],
  )
  commands = {
    web     = ["counterfoil", "serve"]
    worker  = ["counterfoil", "worker"]
    beat    = ["counterfoil", "beat"]
    release = ["counterfoil", "release"]
  }
  sizes = {
    web     = { cpu = 1024, memory = 2048 }
    worker  = { cpu = 1024, memory = 2048 }
    beat    = { cpu = 256, memory = 512 }
    release = { cpu = 512, memory = 1024 }
  }
}

locals {
  # The web task's sidecar asks /metrics over the task's loopback (no token needed there, and
  # the load balancer's requests never come from it) and publishes what it reads as CloudWatch
  # metrics in the Counterfoil namespace, where the monitoring module's alarms watch them.
  prometheus_config = yamlencode({
    global = { scrape_interval = "60s", scrape_timeout = "20s" }
    scrape_configs = [{
      job_name       = "counterfoil"
      metrics_path   = "/metrics"
      static_configs = [{ targets = ["127.0.0.1:8000"] }]
    }]
  })
  cloudwatch_agent_config = jsonencode({
    logs = {
      metrics_collected = {
        prometheus = {
          log_group_name         = "/${var.name}/prometheus"
          prometheus_config_path = "env:PROMETHEUS_CONFIG_CONTENT"
          emf_processor = {
            metric_namespace = "Counterfoil"
            metric_declaration = [{
              source_labels    = ["job"]
              label_matcher    = "^counterfoil$"
              dimensions       = [[]]
              metric_selectors = ["^counterfoil_(task_queue_depth|worker_heartbeat_age_seconds|webhook_inbox_oldest_seconds|webhook_inbox_waiting|mop_up_lag_seconds|exports_failed_last_day|import_longest_last_hour_seconds)$"]
            }]
          }
        }
      }
    }
  })
  metrics_sidecar = {
    name                   = "metrics"
    image                  = var.cloudwatch_agent_image
    essential              = false
    readonlyRootFilesystem = false
    user                   = "10001"
    environment = [
      { name = "PROMETHEUS_CONFIG_CONTENT", value = local.prometheus_config },
      { name = "CW_CONFIG_CONTENT", value = local.cloudwatch_agent_config },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this["web"].name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "metrics"
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "prometheus" {
  name              = "/${var.name}/prometheus"
  retention_in_days = 400
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_task_definition" "this" {
  for_each                 = local.commands
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.sizes[each.key].cpu
  memory                   = local.sizes[each.key].memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "data"
  }
  container_definitions = jsonencode(concat([{
    name                   = each.key
    image                  = var.image
    command                = each.value
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001"
    stopTimeout            = 60
    environment            = local.environment
    secrets                = local.secrets
    mountPoints            = [{ sourceVolume = "data", containerPath = "/var/lib/counterfoil" }]
    portMappings           = each.key == "web" ? [{ containerPort = 8000, protocol = "tcp" }] : []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this[each.key].name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = each.key
      }
    }
  }], each.key == "web" ? [local.metrics_sidecar] : []))
}

resource "aws_ecs_service" "web" {
  name                               = "web"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this["web"].arn
  desired_count                      = var.web_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = "web"
    container_port   = 8000
  }
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this["worker"].arn
  desired_count   = var.worker_count
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
}

# Exactly one scheduler: two would send every periodic task twice.
resource "aws_ecs_service" "beat" {
  name                               = "beat"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this["beat"].arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
}

output "cluster_name" {
  value = aws_ecs_cluster.this.name
}
output "tasks_security_group_id" {
  value = aws_security_group.tasks.id
}
output "release_task_definition_arn" {
  value = aws_ecs_task_definition.this["release"].arn
}
