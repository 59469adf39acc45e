-- One row per day of Seattle weather, as the clean layer holds it.
select
    observation_date,
    weather,
    precipitation_mm,
    temp_min_c,
    temp_max_c,
    wind_m_s
from {{ source('clean', 'seattle_weather') }}
