-- Tagged partitioned: a 1:1 view over a daily-partitioned clean table. Built in the same
-- step as the marts it feeds, so a run of only the partitioned assets (a backfill) orders
-- the marts after the clean tables instead of racing them.
{{ config(tags=['partitioned']) }}

select
    flight_id::text               as flight_id,
    flight_date::date             as flight_date,
    carrier::text                 as carrier,
    flight_number::integer        as flight_number,
    tailnum::text                 as tailnum,
    origin::text                  as origin,
    dest::text                    as dest,
    sched_dep_at::timestamptz     as sched_dep_at,
    dep_at::timestamptz           as dep_at,
    sched_arr_at::timestamptz     as sched_arr_at,
    arr_at::timestamptz           as arr_at,
    sched_dep_hour_at::timestamptz as sched_dep_hour_at,
    dep_delay_min::integer        as dep_delay_min,
    arr_delay_min::integer        as arr_delay_min,
    air_time_min::integer         as air_time_min,
    distance_miles::integer       as distance_miles,
    is_cancelled::boolean         as is_cancelled,
    source_file::text             as source_file,
    source_row::integer           as source_row,
    landed_at::timestamptz        as landed_at
from {{ source('clean', 'flights') }}
