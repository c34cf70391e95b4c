-- Business accounts and how many rows of each table go with them (all are left out of the warehouse).
with business as (
    select "account_id__v" as account_id
    from t_accounts
    where _kept and "holder_category__v" = 'business'
),

final as (
    select 'accounts' as tbl, count(*) as n from business
    union all
    select 'transactions', count(*) from t_transactions where _kept and "account_id__v" in (select account_id from business)
    union all
    select 'credit_liabilities', count(*) from t_credit_liabilities
    where _kept and "account_id__v" in (select account_id from business)
    union all
    select 'credit_aprs', count(*) from t_credit_aprs where _kept and "account_id__v" in (select account_id from business)
    union all
    select 'mortgage_liabilities', count(*) from t_mortgage_liabilities
    where _kept and "account_id__v" in (select account_id from business)
    union all
    select 'student_liabilities', count(*) from t_student_liabilities
    where _kept and "account_id__v" in (select account_id from business)
)

select * from final
