-- The "liabilities" object of Plaid's /liabilities/get response ({credit, mortgage, student}), as JSON text
-- per user who holds any liability. Field names and order as in Plaid's OpenAPI example; fields the raw
-- tables do not carry are null.
-- Reads the raw tables accounts, credit_liabilities, credit_aprs, mortgage_liabilities, student_liabilities.

with

owners as (
    select account_id, user_id
    from accounts
),

aprs as (
    select
        account_id,
        list({
            apr_percentage: apr_percentage,
            apr_type: apr_type,
            balance_subject_to_apr: balance_subject_to_apr,
            interest_charge_amount: interest_charge_amount
        } order by apr_type) as aprs
    from credit_aprs
    group by account_id
),

credit_docs as (
    select
        o.user_id,
        list({
            account_id: c.account_id,
            aprs: coalesce(p.aprs, []),
            is_overdue: c.is_overdue,
            last_payment_amount: c.last_payment_amount,
            last_payment_date: c.last_payment_date,
            last_statement_issue_date: c.last_statement_issue_date,
            last_statement_balance: c.last_statement_balance,
            minimum_payment_amount: c.minimum_payment_amount,
            next_payment_due_date: c.next_payment_due_date
        } order by c.account_id) as credit
    from credit_liabilities as c
    inner join owners as o on o.account_id = c.account_id
    left join aprs as p on p.account_id = c.account_id
    group by o.user_id
),

mortgage_docs as (
    select
        o.user_id,
        list({
            account_id: m.account_id,
            account_number: cast(null as varchar),
            current_late_fee: cast(null as double),
            escrow_balance: cast(null as double),
            has_pmi: cast(null as boolean),
            has_prepayment_penalty: cast(null as boolean),
            interest_rate: {percentage: m.interest_rate_percentage, type: m.interest_rate_type},
            last_payment_amount: m.last_payment_amount,
            last_payment_date: m.last_payment_date,
            loan_term: m.loan_term,
            loan_type_description: cast(null as varchar),
            maturity_date: m.maturity_date,
            next_monthly_payment: m.next_monthly_payment,
            next_payment_due_date: m.next_payment_due_date,
            origination_date: m.origination_date,
            origination_principal_amount: m.origination_principal_amount,
            past_due_amount: m.past_due_amount,
            property_address: {
                city: cast(null as varchar),
                country: cast(null as varchar),
                postal_code: cast(null as varchar),
                region: cast(null as varchar),
                street: cast(null as varchar)
            },
            ytd_interest_paid: cast(null as double),
            ytd_principal_paid: cast(null as double)
        } order by m.account_id) as mortgage
    from mortgage_liabilities as m
    inner join owners as o on o.account_id = m.account_id
    group by o.user_id
),

student_docs as (
    select
        o.user_id,
        list({
            account_id: s.account_id,
            account_number: cast(null as varchar),
            disbursement_dates: cast([] as date[]),
            expected_payoff_date: s.expected_payoff_date,
            guarantor: cast(null as varchar),
            interest_rate_percentage: s.interest_rate_percentage,
            is_overdue: s.is_overdue,
            last_payment_amount: s.last_payment_amount,
            last_payment_date: s.last_payment_date,
            last_statement_issue_date: cast(null as date),
            last_statement_balance: cast(null as double),
            loan_name: s.loan_name,
            loan_status: {end_date: s.expected_payoff_date, type: 'repayment'},
            minimum_payment_amount: s.minimum_payment_amount,
            next_payment_due_date: s.next_payment_due_date,
            origination_date: cast(null as date),
            origination_principal_amount: s.origination_principal_amount,
            outstanding_interest_amount: s.outstanding_interest_amount,
            payment_reference_number: cast(null as varchar),
            pslf_status: {
                estimated_eligibility_date: cast(null as date),
                payments_made: cast(null as integer),
                payments_remaining: cast(null as integer)
            },
            repayment_plan: {description: 'Standard Repayment', type: 'standard'},
            sequence_number: cast(null as varchar),
            servicer_address: {
                city: cast(null as varchar),
                country: cast(null as varchar),
                postal_code: cast(null as varchar),
                region: cast(null as varchar),
                street: cast(null as varchar)
            },
            ytd_interest_paid: cast(null as double),
            ytd_principal_paid: cast(null as double)
        } order by s.account_id) as student
    from student_liabilities as s
    inner join owners as o on o.account_id = s.account_id
    group by o.user_id
),

holders as (
    select user_id from credit_docs
    union
    select user_id from mortgage_docs
    union
    select user_id from student_docs
),

final as (
    select
        h.user_id,
        cast(to_json({
            credit: coalesce(c.credit, []),
            mortgage: coalesce(m.mortgage, []),
            student: coalesce(s.student, [])
        }) as varchar) as liabilities_json
    from holders as h
    left join credit_docs as c on c.user_id = h.user_id
    left join mortgage_docs as m on m.user_id = h.user_id
    left join student_docs as s on s.user_id = h.user_id
)

select * from final
order by user_id
