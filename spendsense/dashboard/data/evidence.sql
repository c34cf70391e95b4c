-- One user's evidence in the run (DuckDB): profile, signals, cards, streams, transactions, payroll, personas,
-- recommendations, traces and shortfalls.

-- name: user
select * from users where user_id = $user_id

-- name: user_with_accounts
-- the user's row and its account count in one statement (a user switch pays per statement)
select u.*, (select count(*) from accounts a where a.user_id = $user_id) as accounts
from users u where u.user_id = $user_id

-- name: account_count
select count(*) from accounts where user_id = $user_id

-- name: skip_reasons
select string_agg(reason, '; ') from skipped_users where user_id = $user_id

-- name: signals
select window_days, signal, value, value_text from signals where user_id = $user_id order by signal, window_days

-- name: credit_cards
select * from credit_cards where user_id = $user_id order by window_days, account_id

-- name: recurring_streams
select * from recurring_streams where user_id = $user_id
order by window_days, coalesce(amount_in_window, 0) desc, merchant_key

-- name: transactions
-- $admin: admins see the raw description; operators the merchant, or the category in parentheses;
-- the user's accounts filtered by user, not joined whole (a scan of every account doubled this lookup)
with user_transactions as (
    select * from transactions where user_id = $user_id
),

user_accounts as (
    select account_id, mask, type from accounts where user_id = $user_id
),

final as (
    select t.transaction_id, t.date, t.amount,
           case when $admin then coalesce(t.merchant_name, t.name)
                else coalesce(t.merchant_name, '(' || lower(replace(t.pfc_detailed, '_', ' ')) || ')')
           end as description,
           t.pfc_primary, t.account_id, a.mask as account_mask, a.type as account_type
    from user_transactions t left join user_accounts a using (account_id)
)

select * from final order by date, transaction_id

-- name: transactions_without_accounts
select t.transaction_id, t.date, t.amount,
       case when $admin then coalesce(t.merchant_name, t.name)
            else coalesce(t.merchant_name, '(' || lower(replace(t.pfc_detailed, '_', ' ')) || ')') end as description,
       t.pfc_primary, t.account_id, null as account_mask
from transactions t
where t.user_id = $user_id order by t.date, t.transaction_id

-- name: payroll_deposits
with user_deposits as (
    select * from payroll_deposits where user_id = $user_id
),

user_accounts as (
    select account_id, mask from accounts where user_id = $user_id
),

final as (
    select p.*, a.mask as account_mask from user_deposits p left join user_accounts a using (account_id)
)

select * from final order by window_days, date

-- name: payroll_deposits_without_accounts
select *, null as account_mask from payroll_deposits where user_id = $user_id order by window_days, date

-- name: persona_assignments
select * from persona_assignments where user_id = $user_id order by window_days

-- name: counterfactuals
select window_days, persona_id, target_persona_id, text_operator, text_customer, changes
from persona_counterfactuals where user_id = $user_id order by window_days

-- name: depository_balance
select coalesce(sum(balance_current), 0) from accounts where user_id = $user_id and type = 'depository'

-- name: recommendations
select * from recommendations where user_id = $user_id order by window_days, kind, rank

-- name: traces
select recommendation_id, trace from decision_traces where user_id = $user_id

-- name: trace
select user_id, trace from decision_traces where recommendation_id = $recommendation_id

-- name: shortfalls
select * from recommendation_shortfalls where user_id = $user_id order by window_days, kind
