{#
    One row per scheduled flight. Partitioned by flight_date: every run
    (including the first / --full-refresh run) only builds the
    [min_date, max_date] window; incremental runs delete+insert those dates.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flight_date',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['flight_date']}],
        tags=['partitioned'],
        pre_hook="{{ clear_window('flight_date') }}",
        post_hook="{{ rebuild_window_indexes() }}",
    )
}}

with flights as (

    select *
    from {{ ref('stg_flights') }}
    where {{ date_window('flight_date') }}

),

carriers as (

    select
        carrier,
        carrier_name
    from {{ ref('dim_carriers') }}

)

select
    f.flight_id::text                as flight_id,
    f.flight_date::date              as flight_date,
    f.carrier::text                  as carrier,
    c.carrier_name::text             as carrier_name,
    f.flight_number::integer         as flight_number,
    f.tailnum::text                  as tailnum,
    f.origin::text                   as origin,
    f.dest::text                     as dest,
    f.sched_dep_at::timestamptz      as sched_dep_at,
    f.dep_at::timestamptz            as dep_at,
    f.sched_arr_at::timestamptz      as sched_arr_at,
    f.arr_at::timestamptz            as arr_at,
    f.sched_dep_hour_at::timestamptz as sched_dep_hour_at,
    f.dep_delay_min::integer         as dep_delay_min,
    f.arr_delay_min::integer         as arr_delay_min,
    f.air_time_min::integer          as air_time_min,
    f.distance_miles::integer        as distance_miles,
    f.is_cancelled::boolean          as is_cancelled,
    (not f.is_cancelled and f.arr_delay_min is not null)::boolean
        as is_arrival_reported,
    coalesce(not f.is_cancelled and f.arr_delay_min <= 15, false)::boolean
        as is_on_time,
    coalesce(not f.is_cancelled and f.dep_delay_min > 15, false)::boolean
        as is_departure_delayed
from flights as f
left join carriers as c
    on f.carrier = c.carrier
