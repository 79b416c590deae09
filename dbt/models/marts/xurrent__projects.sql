-- Live projects with their customer organization (and its place in the hierarchy), the
-- manager (the id and name the project row carries; xurrent__organization_chart has the people),
-- the service and its provider, and a few derived figures for reporting.
with projects as (
    select * from {{ ref('stg_xurrent__projects') }}
),

organizations as (
    select * from {{ ref('int_xurrent__organization_lookup') }}
),

final as (
    select
        projects.project_key,
        projects.source_relation,
        projects.account_id,
        projects.project_id,
        projects.subject,
        projects.category,
        projects.status,
        projects.status = 'completed' as is_completed,
        projects.completion_reason,
        projects.manager_id,
        projects.manager_name,
        projects.customer_id,
        coalesce(customer.name, projects.customer_name) as customer_name,
        customer.organization_id is not null as is_customer_known,
        customer.top_organization_id as customer_top_organization_id,
        customer.top_organization_name as customer_top_organization_name,
        customer.depth as customer_depth,
        customer.name_path as customer_hierarchy_path,
        projects.service_id,
        projects.service_name,
        projects.service_provider_id,
        projects.service_provider_name,
        projects.service_provider_account_id,
        projects.program,
        projects.justification,
        projects.risk_level,
        projects.created_at,
        {{ dbt.cast('projects.created_at', 'date') }} as created_date,
        projects.updated_at,
        projects.completion_target_at,
        projects.completed_at,
        {{ dbt.cast('projects.completed_at', 'date') }} as completed_date,
        case
            when projects.status <> 'completed'
                and projects.completion_target_at < {{ dbt.current_timestamp() }}
                then true
            else false
        end as is_overdue,
        {{ dbt.datediff('projects.created_at', 'coalesce(projects.completed_at, ' ~ dbt.current_timestamp() ~ ')', 'day') }}
            as age_days,
        projects.resolution_duration_minutes,
        projects.effort_minutes,
        projects.cost_of_effort,
        projects.cost_of_purchases,
        projects.total_cost,
        projects.value,
        projects.value_currency,
        projects.roi_percent
    from projects
    left join organizations as customer
        on customer.organization_id = projects.customer_id
)

select * from final
