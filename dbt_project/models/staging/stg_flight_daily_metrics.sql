select
    flight_date::date                    as flight_date,
    origin::text                         as origin,
    carrier::text                        as carrier,
    flights::integer                     as flights,
    cancelled_flights::integer           as cancelled_flights,
    flown_flights::integer               as flown_flights,
    arrivals_reported::integer           as arrivals_reported,
    on_time_arrivals::integer            as on_time_arrivals,
    mean_dep_delay_min::double precision as mean_dep_delay_min,
    p95_dep_delay_min::double precision  as p95_dep_delay_min,
    mean_arr_delay_min::double precision as mean_arr_delay_min,
    p95_arr_delay_min::double precision  as p95_arr_delay_min
from {{ source('aggregate', 'flight_daily_metrics') }}
