-- Rows per raw table after ingest.
with counts as (
    select 'users' as table_name, count(*) as row_count from users
    union all select 'accounts', count(*) from accounts
    union all select 'transactions', count(*) from transactions
    union all select 'credit_liabilities', count(*) from credit_liabilities
    union all select 'credit_aprs', count(*) from credit_aprs
    union all select 'mortgage_liabilities', count(*) from mortgage_liabilities
    union all select 'student_liabilities', count(*) from student_liabilities
    union all select 'consent_events', count(*) from consent_events
),

final as (
    select * from counts
)

select * from final
